using Berth.Registry;

// berth-registry [serve] [--addr HOST:PORT] [--root DIR]: the OCI distribution API over plain HTTP.
string address = "127.0.0.1:5000";
string root = "/var/lib/berth-registry";
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "serve":
            break;
        case "--addr" when i + 1 < args.Length:
            address = args[++i];
            break;
        case "--root" when i + 1 < args.Length:
            root = args[++i];
            break;
        default:
            await Console.Error.WriteLineAsync($"berth-registry: unknown argument {args[i]}\nusage: berth-registry [serve] [--addr HOST:PORT] [--root DIR]").ConfigureAwait(false);
            return 2;
    }
}

Microsoft.AspNetCore.Builder.WebApplication app = RegistryServer.Build(address, root);
await app.RunAsync().ConfigureAwait(false);
return 0;
