using System.Text.Json.Nodes;
using Berth.Cli.Templates;

namespace Berth.Cli.Tests;

public class TemplateTests
{
    private static readonly JsonNode Inspect = JsonNode.Parse("""
        {
          "Id": "4bed76d3ad428b889c56c1ecc2bf2ed95cb08256db22dc5ef5863e1d03252a19",
          "Name": "/web",
          "State": { "Status": "running", "Running": true, "ExitCode": 0, "Pid": 4242 },
          "Config": {
            "Env": ["PATH=/usr/bin", "HOME=/root"],
            "Labels": { "app": "shop", "tier": "front" },
            "Cmd": ["sh", "-c", "echo <hi> & bye"],
            "Entrypoint": null
          },
          "NetworkSettings": { "Networks": { "bridge": { "IPAddress": "172.17.0.2" }, "back": { "IPAddress": "10.0.0.5" } } },
          "Ratio": 0.5
        }
        """)!;

    private static string Run(string template, object? data = null) => GoTemplate.Parse(template).Execute(data ?? Inspect);

    [Theory]
    [InlineData("{{.Name}}", "/web")]
    [InlineData("{{.State.Status}}", "running")]
    [InlineData("{{.State.Pid}}", "4242")]
    [InlineData("{{.State.Running}}", "true")]
    [InlineData("{{.Ratio}}", "0.5")]
    [InlineData("{{.Config.Env}}", "[PATH=/usr/bin HOME=/root]")]
    [InlineData("{{.Config.Labels}}", "map[app:shop tier:front]")]
    [InlineData("{{.Config.Entrypoint}}", "<nil>")]
    [InlineData("{{.Missing}}", "<no value>")]
    [InlineData("{{.id}}", "4bed76d3ad428b889c56c1ecc2bf2ed95cb08256db22dc5ef5863e1d03252a19")]
    public void Fields_print_like_go(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{json .State}}", "{\"Status\":\"running\",\"Running\":true,\"ExitCode\":0,\"Pid\":4242}")]
    [InlineData("{{json .Config.Cmd}}", "[\"sh\",\"-c\",\"echo <hi> & bye\"]")]
    [InlineData("{{json .Name}}", "\"/web\"")]
    [InlineData("{{.Config.Cmd | json}}", "[\"sh\",\"-c\",\"echo <hi> & bye\"]")]
    public void Json_is_compact_without_html_escaping(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{index .Config.Labels \"app\"}}", "shop")]
    [InlineData("{{index .Config.Labels \"none\"}}", "")]
    [InlineData("{{index .Config.Env 1}}", "HOME=/root")]
    [InlineData("{{join .Config.Env \",\"}}", "PATH=/usr/bin,HOME=/root")]
    [InlineData("{{upper .State.Status}}", "RUNNING")]
    [InlineData("{{.Name | lower | upper}}", "/WEB")]
    [InlineData("{{len .Config.Env}}", "2")]
    [InlineData("{{title \"hello world\"}}", "Hello World")]
    [InlineData("{{split \"a:b:c\" \":\"}}", "[a b c]")]
    [InlineData("{{truncate .Id 12}}", "4bed76d3ad42")]
    [InlineData("{{pad \"x\" 2 1}}", "  x ")]
    [InlineData("{{printf \"%s=%d %q %5s|%-4s|\" .Name .State.Pid \"q\" \"r\" \"l\"}}", "/web=4242 \"q\"     r|l   |")]
    [InlineData("{{println .Name}}", "/web\n")]
    [InlineData("{{print 1 2 \"a\" 3}}", "1 2a3")]
    public void Functions(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{range .Config.Env}}[{{.}}]{{end}}", "[PATH=/usr/bin][HOME=/root]")]
    [InlineData("{{range $i, $e := .Config.Env}}{{$i}}={{$e}};{{end}}", "0=PATH=/usr/bin;1=HOME=/root;")]
    [InlineData("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}:{{$v.IPAddress}} {{end}}", "back:10.0.0.5 bridge:172.17.0.2 ")]
    [InlineData("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "10.0.0.5172.17.0.2")]
    [InlineData("{{range .Config.Entrypoint}}x{{else}}empty{{end}}", "empty")]
    [InlineData("{{range .Config.Env}}{{if eq . \"HOME=/root\"}}{{break}}{{end}}{{.}};{{end}}", "PATH=/usr/bin;")]
    [InlineData("{{range .Config.Env}}{{if eq . \"PATH=/usr/bin\"}}{{continue}}{{end}}{{.}};{{end}}", "HOME=/root;")]
    [InlineData("{{if .State.Running}}up{{else}}down{{end}}", "up")]
    [InlineData("{{if not .State.Running}}down{{else if eq .Name \"/web\"}}web{{else}}other{{end}}", "web")]
    [InlineData("{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}", "ok")]
    [InlineData("{{if or .Missing .Config.Entrypoint}}yes{{else}}no{{end}}", "no")]
    [InlineData("{{if eq .State.Status \"exited\" \"running\"}}match{{end}}", "match")]
    [InlineData("{{if gt .State.Pid 100}}big{{end}}", "big")]
    [InlineData("{{with .State}}{{.Status}}/{{$.Name}}{{end}}", "running//web")]
    [InlineData("{{with .Missing}}x{{else}}none{{end}}", "none")]
    [InlineData("{{$n := .Name}}{{$n}}{{$n = \"z\"}}{{$n}}", "/webz")]
    [InlineData("{{(index .Config.Env 0) | len}}", "13")]
    [InlineData("a  {{- .Name -}}  b", "a/webb")]
    [InlineData("{{/* a comment */}}x{{- /* trimmed */ -}} y", "xy")]
    [InlineData("{{`raw\\t`}}", "raw\\t")]
    [InlineData("{{\"esc\\t\"}}", "esc\t")]
    public void Control_structures(string template, string expected) => Assert.Equal(expected, Run(template));

    [Theory]
    [InlineData("{{.Name", "template: :1: unclosed action")]
    [InlineData("{{nope .Name}}", "template: :1: function \"nope\" not defined")]
    [InlineData("{{if .Name}}x", "template: :1: unexpected EOF")]
    [InlineData("{{end}}", "template: :1: unexpected {{end}}")]
    public void Parse_errors(string template, string message)
    {
        TemplateException e = Assert.Throws<TemplateException>(() => GoTemplate.Parse(template));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Nil_field_access_is_an_execution_error()
    {
        TemplateException e = Assert.Throws<TemplateException>(() => Run("{{.Config.Entrypoint.Foo}}"));
        Assert.Contains("nil pointer evaluating", e.Message);
    }

    [Fact]
    public void Template_objects_expose_methods_with_arguments()
    {
        var row = new ContainerRow(
            new Api.Types.ContainerSummary { Id = "abc", Labels = new() { ["com.example.app"] = "shop" } },
            truncate: true, DateTimeOffset.UnixEpoch, TimeZoneInfo.Utc);
        Assert.Equal("shop", Run("{{.Label \"com.example.app\"}}", row));
        TemplateException e = Assert.Throws<TemplateException>(() => Run("{{.Nope}}", row));
        Assert.Contains("can't evaluate field Nope in type *formatter.ContainerContext", e.Message);
    }

    [Fact]
    public void Header_mode_passes_arguments_through_formatting_functions()
    {
        string header = GoTemplate.Parse("{{.ID}}\t{{upper .Names}}\t{{json .Status}}\t{{.Label \"com.example.app-name\"}}")
            .Execute(ContainerRow.Header, header: true);
        Assert.Equal("CONTAINER ID\tNAMES\tSTATUS\tapp name", header);
    }
}
