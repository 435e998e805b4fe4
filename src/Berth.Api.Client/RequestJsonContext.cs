using System.Text.Json.Serialization;
using Berth.Api.Types;

namespace Berth.Api.Client;

/// <summary>
/// The request bodies `berth run` and `berth exec` send, written by generated code (serialization-only mode) instead
/// of through <see cref="ApiJsonContext"/>'s metadata. Metadata is built on first use for every type a request
/// reaches (a create request reaches a dozen), each with reflection over its attributes, which NativeAOT answers
/// slowly: ~1 ms of every `run` before its create request leaves (ftrace). The bytes are the same (a unit test
/// compares both). The options must stay those of <see cref="ApiJsonContext"/> that affect writing.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(ContainerCreateRequest))]
[JsonSerializable(typeof(ExecCreateRequest))]
[JsonSerializable(typeof(ExecStartRequest))]
// Its properties have converters (null read as zero), which generated writing code does not call: metadata here.
[JsonSerializable(typeof(HealthConfig), GenerationMode = JsonSourceGenerationMode.Metadata)]
internal sealed partial class RequestJsonContext : JsonSerializerContext;
