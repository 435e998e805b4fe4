using Berth.Compose;
using Berth.Compose.Loading;

namespace Berth.UnitTests.Compose;

public class YamlWriterTests
{
    [Fact]
    public void Config_output_is_normalised_and_reads_back_to_the_same_project()
    {
        using var files = new ComposeTestFiles();
        files.Write("compose.yaml", """
            name: demo
            services:
              web:
                image: busybox
                ports: ["8080:80"]
                environment: [A=1, "B=yes", "C=: tricky #"]
                command: ["echo", "true"]
              db:
                image: busybox
            volumes:
              data:
            """);

        string yaml = YamlWriter.WriteProject(files.Load());

        Assert.StartsWith("name: demo\nservices:\n  db:\n", yaml, StringComparison.Ordinal);
        Assert.Contains("      - \"8080:80\"\n", yaml, StringComparison.Ordinal);
        Assert.Contains("      B: \"yes\"\n", yaml, StringComparison.Ordinal);
        Assert.Contains("      - \"true\"\n", yaml, StringComparison.Ordinal);
        Assert.Contains("    networks:\n      default: null\n", yaml, StringComparison.Ordinal);
        files.Write("again.yaml", yaml);
        ComposeProject again = files.Load("again.yaml");
        Assert.Equal(": tricky #", ((MapNode)again.Service("web").Definition["environment"]!)["C"].AsText());
        Assert.Equal(YamlWriter.WriteProject(again), yaml);
    }
}
