using Berth.Build;

namespace Berth.UnitTests;

public class BuildParserTests
{
    private static string? Vars(string name) => name switch
    {
        "NAME" => "berth",
        "EMPTY" => "",
        "DIR" => "/app/src",
        _ => null,
    };

    [Fact]
    public void InstructionsAreCaseInsensitiveAndKeepTheirLine()
    {
        DockerfileDocument doc = DockerfileParser.Parse("from busybox\n\n# comment\nrun echo hi\nCmd [\"sh\"]\n");
        Assert.Equal(["FROM", "RUN", "CMD"], doc.Instructions.Select(i => i.Keyword));
        Assert.Equal([1, 4, 5], doc.Instructions.Select(i => i.Line));
        Assert.Equal(["sh"], doc.Instructions[2].Json!);
        Assert.Null(doc.Instructions[1].Json);
    }

    [Fact]
    public void ContinuationsJoinLinesAndSkipCommentsInside()
    {
        DockerfileDocument doc = DockerfileParser.Parse("FROM busybox\nRUN echo a \\\n# inner comment\n    && echo b\nCMD x\n");
        Assert.Equal("echo a     && echo b", doc.Instructions[1].Arguments);
        Assert.Equal(2, doc.Instructions[1].Line);
        Assert.Equal(5, doc.Instructions[2].Line);
    }

    [Fact]
    public void EscapeDirectiveSwitchesToBacktick()
    {
        DockerfileDocument doc = DockerfileParser.Parse("# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY c:\\dir\\ /x\n");
        Assert.Equal('`', doc.EscapeToken);
        Assert.Equal("echo a   b", doc.Instructions[1].Arguments);
        Assert.Equal("c:\\dir\\ /x", doc.Instructions[2].Arguments);
    }

    [Fact]
    public void DirectivesStopAtTheFirstCommentOrInstruction()
    {
        DockerfileDocument doc = DockerfileParser.Parse("# syntax=docker/dockerfile:1\n# hello\n# escape=`\nFROM busybox\n");
        Assert.Equal("docker/dockerfile:1", doc.Directives["syntax"]);
        Assert.False(doc.Directives.ContainsKey("escape"));
        Assert.Equal('\\', doc.EscapeToken);
    }

    [Fact]
    public void DuplicateDirectiveAndBadEscapeAreErrors()
    {
        Assert.Contains("only one escape", Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("# escape=`\n# escape=`\nFROM x")).Message, StringComparison.Ordinal);
        Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("# escape=x\nFROM x"));
    }

    [Fact]
    public void UnknownInstructionNamesTheLine()
    {
        var error = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM busybox\n\nRUNN echo\n"));
        Assert.Equal("Dockerfile:3: unknown instruction: RUNN", error.Message);
    }

    [Fact]
    public void FlagsAreSeparatedFromArguments()
    {
        Instruction copy = DockerfileParser.Parse("COPY --from=build --chown=1:2 /a /b").Instructions[0];
        Assert.Equal("build", copy.Flag("from"));
        Assert.Equal("1:2", copy.Flag("chown"));
        Assert.Null(copy.Flag("chmod"));
        Assert.Equal("/a /b", copy.Arguments);
    }

    [Fact]
    public void BrokenJsonIsShellForm()
    {
        Instruction cmd = DockerfileParser.Parse("CMD [\"echo\", 1]").Instructions[0];
        Assert.Null(cmd.Json);
        Assert.Equal("[\"echo\", 1]", cmd.Arguments);
    }

    [Fact]
    public void HeredocsAreCollected()
    {
        DockerfileDocument doc = DockerfileParser.Parse("FROM busybox\nRUN <<EOF\necho one\necho two\nEOF\nRUN <<-\"END\" sh\n\techo $X\n\tEND\nCMD x\n");
        Assert.Equal(4, doc.Instructions.Count);
        Assert.Equal("echo one\necho two\n", doc.Instructions[1].Heredocs[0].Content);
        Assert.True(doc.Instructions[1].Heredocs[0].Expand);
        Assert.Equal("echo $X\n", doc.Instructions[2].Heredocs[0].Content);
        Assert.False(doc.Instructions[2].Heredocs[0].Expand);
        Assert.Equal(9, doc.Instructions[3].Line);
    }

    [Fact]
    public void UnterminatedHeredocIsAnError() =>
        Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("RUN <<EOF\necho\n"));

    [Theory]
    [InlineData("$NAME", "berth")]
    [InlineData("${NAME}", "berth")]
    [InlineData("a${NAME}b", "aberthb")]
    [InlineData("${MISSING:-def}", "def")]
    [InlineData("${EMPTY:-def}", "def")]
    [InlineData("${EMPTY-def}", "")]
    [InlineData("${NAME:+alt}", "alt")]
    [InlineData("${MISSING:+alt}", "")]
    [InlineData("${MISSING:-$NAME}", "berth")]
    [InlineData("${DIR#/app}", "/src")]
    [InlineData("${DIR%/src}", "/app")]
    [InlineData("'$NAME'", "$NAME")]
    [InlineData("\"$NAME x\"", "berth x")]
    [InlineData("\\$NAME", "$NAME")]
    [InlineData("$", "$")]
    public void SubstitutesLikeDocker(string input, string expected) =>
        Assert.Equal(expected, ShellWords.Word(input, Vars));

    [Fact]
    public void RequiredVariableFailsWithItsMessage() =>
        Assert.Contains("MISSING: needed", Assert.Throws<DockerfileException>(() => ShellWords.Word("${MISSING:?needed}", Vars)).Message, StringComparison.Ordinal);

    [Fact]
    public void SplitHonoursQuotes() =>
        Assert.Equal(["a", "b c", "berth"], ShellWords.Split("a \"b c\"  $NAME", Vars));

    [Fact]
    public void PairsInBothForms()
    {
        var modern = ShellWords.Pairs("A=1 B=\"two words\" C=$NAME", Vars, '\\', legacyAllowed: true, valueOptional: false);
        Assert.Equal(["A", "B", "C"], modern.Select(p => p.Key));
        Assert.Equal(["1", "two words", "berth"], modern.Select(p => p.Value));
        var legacy = ShellWords.Pairs("KEY some value", Vars, '\\', legacyAllowed: true, valueOptional: false);
        Assert.Equal("some value", Assert.Single(legacy).Value);
        var arg = ShellWords.Pairs("VERSION", Vars, '\\', legacyAllowed: false, valueOptional: true);
        Assert.Null(Assert.Single(arg).Value);
    }

    [Fact]
    public void ExecFormElementsOnlySubstitute() =>
        Assert.Equal("/app/src/'x'", ShellWords.SubstituteOnly("$DIR/'x'", Vars));
}
