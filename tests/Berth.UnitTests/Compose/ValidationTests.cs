using Berth.Compose;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

public class ValidationTests
{
    private static string Error(string yaml)
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", yaml);
        return files.Fails("compose.yaml").Message;
    }

    [Fact]
    public void A_wrong_type_names_file_line_and_path()
    {
        Assert.Equal(
            "compose.yaml:4: services.web.ports must be a list",
            Error("services:\n  web:\n    image: busybox\n    ports: \"80:80\"\n"));
    }

    [Fact]
    public void An_unknown_key_is_refused_as_compose_words_it()
    {
        Assert.Equal(
            "compose.yaml:4: services.web Additional property foo is not allowed",
            Error("services:\n  web:\n    image: busybox\n    foo: bar\n"));
        Assert.Equal(
            "compose.yaml:1: (root) Additional property service is not allowed",
            Error("service:\n  web:\n    image: busybox\n"));
    }

    [Fact]
    public void Nested_and_list_items_are_checked()
    {
        Assert.Equal(
            "compose.yaml:6: services.web.healthcheck Additional property tset is not allowed",
            Error("services:\n  web:\n    image: busybox\n    healthcheck:\n      interval: 1s\n      tset: [\"CMD\", \"true\"]\n"));
        Assert.Equal(
            "compose.yaml:5: services.web.deploy.replicas must be a integer",
            Error("services:\n  web:\n    image: busybox\n    deploy:\n      replicas: many\n"));
        Assert.StartsWith(
            "compose.yaml:6: services.web.volumes.1",
            Error("services:\n  web:\n    image: busybox\n    volumes:\n      - /a:/a\n      - [nested]\n"), StringComparison.Ordinal);
        Assert.Equal(
            "compose.yaml:5: services.web.depends_on.db.condition must be one of the following: \"service_started\", \"service_healthy\", \"service_completed_successfully\"",
            Error("services:\n  web:\n    image: busybox\n    depends_on:\n      db: {condition: service_ready}\n  db:\n    image: busybox\n"));
    }

    [Fact]
    public void Yaml_syntax_errors_and_non_mapping_documents_have_locations()
    {
        Assert.StartsWith("compose.yaml:4: yaml:", Error("services:\n  web:\n    image: [busybox\n"), StringComparison.Ordinal);
        Assert.Equal("compose.yaml:1: Top-level object must be a mapping", Error("- a\n- b\n"));
        Assert.StartsWith("compose.yaml:4: yaml: Duplicate key image", Error("services:\n  web:\n    image: a\n    image: b\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_in_an_override_file_name_that_file()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", "services:\n  web:\n    image: busybox\n");
        files.Write("compose.override.yaml", "services:\n  web:\n    restart: always\n    bogus: 1\n");

        ComposeException e = Assert.Throws<ComposeException>(() => files.Load());

        Assert.Equal("compose.override.yaml:4: services.web Additional property bogus is not allowed", e.Message);
    }
}
