namespace Berth.Cli.Templates;

internal abstract record TemplateNode;

internal sealed record TextNode(string Text) : TemplateNode;

/// <summary><c>{{pipeline}}</c>: prints the value unless the pipeline declares a variable.</summary>
internal sealed record ActionNode(Pipeline Pipeline, Segment Source) : TemplateNode;

/// <summary><c>if</c>, <c>with</c> and <c>range</c>; an <c>else if</c> / <c>else with</c> chain is a nested node in <see cref="Else"/>.</summary>
internal sealed record BranchNode(string Keyword, Pipeline Pipeline, List<TemplateNode> Body, List<TemplateNode>? Else, Segment Source) : TemplateNode;

internal sealed record LoopControlNode(bool IsBreak) : TemplateNode;

internal sealed record Pipeline(List<string> Declarations, bool IsAssignment, List<Command> Commands);

internal sealed record Command(List<Operand> Operands);

internal abstract record Operand;

/// <summary><c>.A.B</c>: the fields are looked up on dot.</summary>
internal sealed record FieldOperand(List<string> Chain) : Operand;

internal sealed record DotOperand : Operand;

/// <summary><c>$x.A.B</c>.</summary>
internal sealed record VariableOperand(string Name, List<string> Chain) : Operand;

internal sealed record LiteralOperand(object? Value) : Operand;

internal sealed record FunctionOperand(string Name) : Operand;

/// <summary><c>(pipeline).A.B</c>.</summary>
internal sealed record SubPipelineOperand(Pipeline Pipeline, List<string> Chain) : Operand;

/// <summary>Builds the node tree of a template from its segments.</summary>
internal sealed class TemplateParser
{
    private readonly List<Segment> _segments;
    private readonly Func<string, bool> _isFunction;
    private int _index;

    private TemplateParser(List<Segment> segments, Func<string, bool> isFunction)
    {
        _segments = segments;
        _isFunction = isFunction;
    }

    public static List<TemplateNode> Parse(string source, Func<string, bool> isFunction)
    {
        var parser = new TemplateParser(TemplateLexer.Split(source), isFunction);
        (List<TemplateNode> nodes, string? terminator, _) = parser.ParseList();
        if (terminator is not null)
        {
            throw new TemplateException($"template: :{parser._segments[parser._index - 1].Line}: unexpected {{{{{terminator}}}}}");
        }

        return nodes;
    }

    /// <summary>Parses until EOF or an <c>end</c>/<c>else</c> action, which is returned with its remaining tokens.</summary>
    private (List<TemplateNode> Nodes, string? Terminator, List<Token> Remaining) ParseList()
    {
        var nodes = new List<TemplateNode>();
        while (_index < _segments.Count)
        {
            Segment segment = _segments[_index++];
            if (!segment.IsAction)
            {
                nodes.Add(new TextNode(segment.Text));
                continue;
            }

            List<Token> tokens = TemplateLexer.Tokenize(segment);
            if (tokens.Count == 0)
            {
                throw new TemplateException($"template: :{segment.Line}: missing value for command");
            }

            if (tokens[0].Kind == TokenKind.Identifier)
            {
                switch (tokens[0].Text)
                {
                    case "end":
                    case "else":
                        return (nodes, tokens[0].Text, tokens.GetRange(1, tokens.Count - 1));
                    case "if":
                    case "with":
                    case "range":
                        nodes.Add(ParseBranch(tokens[0].Text, tokens.GetRange(1, tokens.Count - 1), segment));
                        continue;
                    case "break":
                    case "continue":
                        nodes.Add(new LoopControlNode(tokens[0].Text == "break"));
                        continue;
                    case "define":
                    case "template":
                    case "block":
                        throw new TemplateException($"template: :{segment.Line}: {{{{{tokens[0].Text}}}}} is not supported");
                    default:
                        break;
                }
            }

            nodes.Add(new ActionNode(ParsePipeline(tokens, segment, allowDeclarations: true, isRange: false), segment));
        }

        return (nodes, null, []);
    }

    private BranchNode ParseBranch(string keyword, List<Token> tokens, Segment segment)
    {
        Pipeline pipeline = ParsePipeline(tokens, segment, allowDeclarations: true, isRange: keyword == "range");
        (List<TemplateNode> body, string? terminator, List<Token> rest) = ParseList();
        List<TemplateNode>? elseBody = null;
        switch (terminator)
        {
            case null:
                throw new TemplateException($"template: :{segment.Line}: unexpected EOF");
            case "end":
                break;
            case "else":
                if (rest.Count > 0 && rest[0].Kind == TokenKind.Identifier && (rest[0].Text == "if" || rest[0].Text == "with"))
                {
                    // {{else if x}} / {{else with x}}: a nested branch that shares our {{end}}.
                    elseBody = [ParseBranch(rest[0].Text, rest.GetRange(1, rest.Count - 1), segment)];
                    break;
                }

                (elseBody, terminator, _) = ParseList();
                if (terminator != "end")
                {
                    throw new TemplateException($"template: :{segment.Line}: expected end; found {(terminator is null ? "EOF" : "{{" + terminator + "}}")}");
                }

                break;
        }

        return new BranchNode(keyword, pipeline, body, elseBody, segment);
    }

    private Pipeline ParsePipeline(List<Token> tokens, Segment segment, bool allowDeclarations, bool isRange)
    {
        int pos = 0;
        var declarations = new List<string>();
        bool isAssignment = false;
        if (allowDeclarations && tokens.Count > 1 && tokens[0].Kind == TokenKind.Variable)
        {
            if (tokens[1].Kind is TokenKind.Declare or TokenKind.Assign)
            {
                declarations.Add(tokens[0].Text);
                isAssignment = tokens[1].Kind == TokenKind.Assign;
                pos = 2;
            }
            else if (isRange && tokens.Count > 3 && tokens[1].Kind == TokenKind.Comma && tokens[2].Kind == TokenKind.Variable
                && tokens[3].Kind is TokenKind.Declare or TokenKind.Assign)
            {
                declarations.Add(tokens[0].Text);
                declarations.Add(tokens[2].Text);
                isAssignment = tokens[3].Kind == TokenKind.Assign;
                pos = 4;
            }
        }

        Pipeline pipeline = ParseCommands(tokens, ref pos, segment, declarations, isAssignment);
        if (pos < tokens.Count)
        {
            throw new TemplateException($"template: :{segment.Line}: unexpected \"{tokens[pos].Text}\" in command");
        }

        return pipeline;
    }

    private Pipeline ParseCommands(List<Token> tokens, ref int pos, Segment segment, List<string> declarations, bool isAssignment)
    {
        var commands = new List<Command>();
        while (true)
        {
            var operands = new List<Operand>();
            while (pos < tokens.Count && tokens[pos].Kind is not (TokenKind.Pipe or TokenKind.RightParen))
            {
                operands.Add(ParseOperand(tokens, ref pos, segment));
            }

            if (operands.Count == 0)
            {
                throw new TemplateException($"template: :{segment.Line}: missing value for command");
            }

            commands.Add(new Command(operands));
            if (pos < tokens.Count && tokens[pos].Kind == TokenKind.Pipe)
            {
                pos++;
                continue;
            }

            return new Pipeline(declarations, isAssignment, commands);
        }
    }

    private Operand ParseOperand(List<Token> tokens, ref int pos, Segment segment)
    {
        Token token = tokens[pos++];
        Operand operand;
        switch (token.Kind)
        {
            case TokenKind.Field:
                operand = new FieldOperand(ReadChain(tokens, ref pos, [token.Text]));
                break;
            case TokenKind.Dot:
                operand = new DotOperand();
                break;
            case TokenKind.Variable:
                operand = new VariableOperand(token.Text, ReadChain(tokens, ref pos, []));
                break;
            case TokenKind.String:
            case TokenKind.Number:
            case TokenKind.Bool:
                operand = new LiteralOperand(token.Value);
                break;
            case TokenKind.Nil:
                operand = new LiteralOperand(null);
                break;
            case TokenKind.Identifier:
                if (!_isFunction(token.Text))
                {
                    throw new TemplateException($"template: :{segment.Line}: function \"{token.Text}\" not defined");
                }

                operand = new FunctionOperand(token.Text);
                break;
            case TokenKind.LeftParen:
                {
                    Pipeline inner = ParseCommands(tokens, ref pos, segment, [], false);
                    if (pos >= tokens.Count || tokens[pos].Kind != TokenKind.RightParen)
                    {
                        throw new TemplateException($"template: :{segment.Line}: unclosed left paren");
                    }

                    pos++;
                    operand = new SubPipelineOperand(inner, ReadChain(tokens, ref pos, []));
                    break;
                }

            default:
                throw new TemplateException($"template: :{segment.Line}: unexpected \"{token.Text}\" in operand");
        }

        return operand;
    }

    private static List<string> ReadChain(List<Token> tokens, ref int pos, List<string> chain)
    {
        while (pos < tokens.Count && tokens[pos].Kind == TokenKind.Field && tokens[pos].Adjacent)
        {
            chain.Add(tokens[pos++].Text);
        }

        return chain;
    }
}
