using System.Text;
using System.Text.Json.Nodes;

namespace Berth.Cli.Templates;

/// <summary>A template function: receives the evaluated arguments (a piped value comes last).</summary>
internal delegate object? TemplateFunction(IReadOnlyList<object?> args);

/// <summary>
/// A subset of Go's text/template, enough for docker's <c>--format</c>: fields and chains
/// (<c>.State.Status</c>, <c>$v.Name</c>), pipelines, variables, <c>if</c>/<c>else if</c>/<c>with</c>/<c>range</c>
/// (with <c>break</c>/<c>continue</c>), trim markers, comments, Go's builtins (<c>index</c>, <c>len</c>, <c>eq</c>,
/// <c>printf</c>...) and docker's functions (<c>json</c>, <c>join</c>, <c>split</c>, <c>upper</c>, <c>lower</c>,
/// <c>title</c>, <c>pad</c>, <c>truncate</c>, <c>println</c>). <c>define</c>/<c>template</c>/<c>block</c> are not supported.
/// Data is a JSON tree or <see cref="ITemplateObject"/>s (see <see cref="TemplateValues"/>).
/// </summary>
internal sealed class GoTemplate
{
    private readonly List<TemplateNode> _nodes;
    private readonly IReadOnlyDictionary<string, TemplateFunction> _functions;

    private GoTemplate(List<TemplateNode> nodes, IReadOnlyDictionary<string, TemplateFunction> functions)
    {
        _nodes = nodes;
        _functions = functions;
    }

    /// <exception cref="TemplateException">The template does not parse (message like Go's).</exception>
    public static GoTemplate Parse(string source, IReadOnlyDictionary<string, TemplateFunction>? extraFunctions = null)
    {
        Dictionary<string, TemplateFunction> functions = TemplateFunctions.Create();
        if (extraFunctions is not null)
        {
            foreach ((string name, TemplateFunction f) in extraFunctions)
            {
                functions[name] = f;
            }
        }

        return new GoTemplate(TemplateParser.Parse(source, functions.ContainsKey), functions);
    }

    /// <summary>Runs the template on <paramref name="data"/>.</summary>
    /// <param name="header">Docker's header mode for <c>table</c> formats: <c>json</c>, <c>upper</c> and friends return their argument unchanged.</param>
    /// <exception cref="TemplateException">Evaluation failed (unknown field, bad arguments...).</exception>
    public string Execute(object? data, bool header = false)
    {
        var evaluator = new Evaluator(_functions, header, data);
        evaluator.Walk(_nodes, data);
        return evaluator.Output.ToString();
    }

    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    private sealed class Evaluator(IReadOnlyDictionary<string, TemplateFunction> functions, bool header, object? root)
    {
        private readonly List<(string Name, object? Value)> _variables = [("$", root)];
        private Segment _current;

        public StringBuilder Output { get; } = new();

        public Flow Walk(List<TemplateNode> nodes, object? dot)
        {
            foreach (TemplateNode node in nodes)
            {
                Flow flow = WalkNode(node, dot);
                if (flow != Flow.Normal)
                {
                    return flow;
                }
            }

            return Flow.Normal;
        }

        private Flow WalkNode(TemplateNode node, object? dot)
        {
            switch (node)
            {
                case TextNode text:
                    Output.Append(text.Text);
                    return Flow.Normal;
                case ActionNode action:
                    {
                        _current = action.Source;
                        object? value = EvalPipeline(action.Pipeline, dot);
                        if (action.Pipeline.Declarations.Count == 0)
                        {
                            Output.Append(TemplateValues.Print(value));
                        }

                        return Flow.Normal;
                    }

                case LoopControlNode control:
                    return control.IsBreak ? Flow.Break : Flow.Continue;
                case BranchNode branch:
                    return WalkBranch(branch, dot);
                default:
                    throw new InvalidOperationException("unknown node");
            }
        }

        private Flow WalkBranch(BranchNode branch, object? dot)
        {
            int mark = _variables.Count;
            try
            {
                _current = branch.Source;
                if (branch.Keyword == "range")
                {
                    return WalkRange(branch, dot);
                }

                object? value = EvalPipeline(branch.Pipeline, dot);
                if (TemplateValues.IsTrue(value))
                {
                    return Walk(branch.Body, branch.Keyword == "with" ? value : dot);
                }

                return branch.Else is null ? Flow.Normal : Walk(branch.Else, dot);
            }
            finally
            {
                _variables.RemoveRange(mark, _variables.Count - mark);
            }
        }

        private Flow WalkRange(BranchNode branch, object? dot)
        {
            Pipeline pipeline = branch.Pipeline with { Declarations = [] };
            object? value = TemplateValues.Normalize(EvalPipeline(pipeline, dot));
            List<(object? Key, object? Element)> items = value switch
            {
                null or NoValue => [],
                JsonArray a => a.Select((n, i) => ((object?)(long)i, (object?)n)).ToList(),
                List<object?> list => list.Select((n, i) => ((object?)(long)i, n)).ToList(),
                JsonObject o => o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => ((object?)p.Key, (object?)p.Value)).ToList(),
                long count => Enumerable.Range(0, (int)Math.Max(0, count)).Select(i => ((object?)(long)i, (object?)(long)i)).ToList(),
                _ => throw Error($"range can't iterate over {TemplateValues.Print(value)}"),
            };

            if (items.Count == 0)
            {
                return branch.Else is null ? Flow.Normal : Walk(branch.Else, dot);
            }

            int mark = _variables.Count;
            foreach ((object? key, object? element) in items)
            {
                object? elementValue = TemplateValues.Normalize(element);
                List<string> declarations = branch.Pipeline.Declarations;
                if (declarations.Count == 1)
                {
                    SetVariable(declarations[0], elementValue, branch.Pipeline.IsAssignment);
                }
                else if (declarations.Count == 2)
                {
                    SetVariable(declarations[0], key, branch.Pipeline.IsAssignment);
                    SetVariable(declarations[1], elementValue, branch.Pipeline.IsAssignment);
                }

                Flow flow = Walk(branch.Body, elementValue);
                _variables.RemoveRange(mark, _variables.Count - mark);
                if (flow == Flow.Break)
                {
                    break;
                }
            }

            return Flow.Normal;
        }

        private object? EvalPipeline(Pipeline pipeline, object? dot)
        {
            object? value = null;
            bool hasPiped = false;
            foreach (Command command in pipeline.Commands)
            {
                value = EvalCommand(command, dot, hasPiped, value);
                hasPiped = true;
            }

            foreach (string name in pipeline.Declarations)
            {
                SetVariable(name, value, pipeline.IsAssignment);
            }

            return value;
        }

        private void SetVariable(string name, object? value, bool assign)
        {
            if (assign)
            {
                for (int i = _variables.Count - 1; i >= 0; i--)
                {
                    if (_variables[i].Name == name)
                    {
                        _variables[i] = (name, value);
                        return;
                    }
                }

                throw Error($"undefined variable: {name}");
            }

            _variables.Add((name, value));
        }

        private object? EvalCommand(Command command, object? dot, bool hasPiped, object? piped)
        {
            Operand first = command.Operands[0];
            List<object?> args = command.Operands.Skip(1).Select(o => EvalArgument(o, dot)).ToList();
            if (hasPiped)
            {
                args.Add(piped);
            }

            switch (first)
            {
                case FunctionOperand function:
                    return CallFunction(function.Name, args);
                case FieldOperand field:
                    return EvalChain(dot, field.Chain, args, "." + string.Join('.', field.Chain));
                case VariableOperand variable:
                    return EvalChain(LookupVariable(variable.Name), variable.Chain, args, variable.Name);
                case SubPipelineOperand sub:
                    return EvalChain(EvalPipeline(sub.Pipeline, dot), sub.Chain, args, "(...)");
                default:
                    if (args.Count > 0)
                    {
                        throw Error($"can't give argument to non-function {Describe(first)}");
                    }

                    return EvalArgument(first, dot);
            }
        }

        private object? EvalArgument(Operand operand, object? dot) => operand switch
        {
            DotOperand => dot,
            LiteralOperand literal => literal.Value,
            FieldOperand field => EvalChain(dot, field.Chain, [], "." + string.Join('.', field.Chain)),
            VariableOperand variable => EvalChain(LookupVariable(variable.Name), variable.Chain, [], variable.Name),
            SubPipelineOperand sub => EvalChain(EvalPipeline(sub.Pipeline, dot), sub.Chain, [], "(...)"),
            FunctionOperand function => CallFunction(function.Name, []),
            _ => throw Error("unexpected operand"),
        };

        /// <summary>Looks up a field chain; arguments go to the last field (a "method" call such as <c>.Label "k"</c>).</summary>
        private object? EvalChain(object? receiver, List<string> chain, List<object?> args, string display)
        {
            if (chain.Count == 0)
            {
                if (args.Count > 0)
                {
                    throw Error($"can't give argument to non-function {display}");
                }

                return receiver;
            }

            object? value = receiver;
            for (int i = 0; i < chain.Count; i++)
            {
                bool last = i == chain.Count - 1;
                value = Field(value, chain[i], last ? args : [], display);
            }

            return value;
        }

        private object? Field(object? receiver, string name, IReadOnlyList<object?> args, string display)
        {
            object? value = TemplateValues.Normalize(receiver);
            switch (value)
            {
                case ITemplateObject obj:
                    if (obj.TryGetField(name, args, out object? result))
                    {
                        return result;
                    }

                    throw Error($"can't evaluate field {name} in type {obj.TypeName}", display);
                case JsonObject map:
                    if (args.Count > 0)
                    {
                        throw Error($"{name} is not a method but has arguments", display);
                    }

                    if (map.TryGetPropertyValue(name, out JsonNode? node))
                    {
                        return TemplateValues.Normalize(node);
                    }

                    // Go structs are addressed by field name while the JSON may spell it differently
                    // (APIVersion vs ApiVersion): fall back to a case-insensitive match.
                    foreach (KeyValuePair<string, JsonNode?> pair in map)
                    {
                        if (string.Equals(pair.Key, name, StringComparison.OrdinalIgnoreCase))
                        {
                            return TemplateValues.Normalize(pair.Value);
                        }
                    }

                    return NoValue.Instance;
                case NoValue:
                    return NoValue.Instance;
                case null:
                    throw Error($"nil pointer evaluating interface {{}}.{name}", display);
                default:
                    throw Error($"can't evaluate field {name} in type {GoTypeName(value)}", display);
            }
        }

        private object? LookupVariable(string name)
        {
            for (int i = _variables.Count - 1; i >= 0; i--)
            {
                if (_variables[i].Name == name)
                {
                    return _variables[i].Value;
                }
            }

            throw Error($"undefined variable: {name}");
        }

        private object? CallFunction(string name, List<object?> args)
        {
            if (header && TemplateFunctions.HeaderPassThrough.Contains(name))
            {
                return args.Count > 0 ? TemplateValues.Print(args[0]) : "";
            }

            if (!functions.TryGetValue(name, out TemplateFunction? function))
            {
                throw Error($"function \"{name}\" not defined");
            }

            try
            {
                return function(args);
            }
            catch (TemplateException e)
            {
                throw Error($"error calling {name}: {e.Message}");
            }
        }

        private TemplateException Error(string message, string? at = null) =>
            new($"template: :{_current.Line}:{_current.Column + 2}: executing \"\" at <{at ?? _current.Text.Trim()}>: {message}");

        private static string Describe(Operand operand) => operand switch
        {
            LiteralOperand l => TemplateValues.Print(l.Value),
            DotOperand => ".",
            _ => operand.ToString() ?? "",
        };

        private static string GoTypeName(object? value) => value switch
        {
            string => "string",
            bool => "bool",
            long or int => "int",
            double => "float64",
            JsonArray or List<object?> => "[]interface {}",
            _ => "interface {}",
        };
    }
}
