using Berth.Registry;

// berth-registry [serve] [--addr HOST:PORT] [--root DIR] [--htpasswd FILE] [--tls-cert FILE --tls-key FILE] [--delete-enabled]
// berth-registry garbage-collect --root DIR [--dry-run] [--delete-untagged]
const string Usage =
    "usage: berth-registry [serve] [--addr HOST:PORT] [--root DIR] [--htpasswd FILE] [--realm REALM] [--tls-cert FILE --tls-key FILE] [--delete-enabled]\n" +
    "       berth-registry garbage-collect --root DIR [--dry-run] [--delete-untagged]";
bool collect = args.Length > 0 && args[0] == "garbage-collect";
var options = new RegistryServerOptions();
bool dryRun = false;
bool deleteUntagged = false;
for (int i = collect ? 1 : 0; i < args.Length; i++)
{
    bool hasValue = i + 1 < args.Length;
    switch (args[i])
    {
        case "serve" when i == 0:
            break;
        case "--addr" when hasValue && !collect:
            options = options with { Address = args[++i] };
            break;
        case "--root" when hasValue:
            options = options with { Root = args[++i] };
            break;
        case "--htpasswd" when hasValue && !collect:
            options = options with { HtpasswdPath = args[++i] };
            break;
        case "--realm" when hasValue && !collect:
            options = options with { Realm = args[++i] };
            break;
        case "--tls-cert" when hasValue && !collect:
            options = options with { TlsCertPath = args[++i] };
            break;
        case "--tls-key" when hasValue && !collect:
            options = options with { TlsKeyPath = args[++i] };
            break;
        case "--delete-enabled" when !collect:
            options = options with { DeleteEnabled = true };
            break;
        case "--dry-run" or "-d" when collect:
            dryRun = true;
            break;
        case "--delete-untagged" or "-m" when collect:
            deleteUntagged = true;
            break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            return 0;
        default:
            await Console.Error.WriteLineAsync($"berth-registry: unknown argument {args[i]}\n{Usage}").ConfigureAwait(false);
            return 2;
    }
}

try
{
    if (collect)
    {
        RegistryGarbageCollector.Run(options.Root, dryRun, deleteUntagged, Console.Out);
        return 0;
    }

    if ((options.TlsCertPath is null) != (options.TlsKeyPath is null))
    {
        await Console.Error.WriteLineAsync("berth-registry: --tls-cert and --tls-key go together").ConfigureAwait(false);
        return 2;
    }

    Microsoft.AspNetCore.Builder.WebApplication app = RegistryServer.Build(options);
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (Exception e) when (e is IOException or FormatException or ArgumentException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
{
    await Console.Error.WriteLineAsync($"berth-registry: {e.Message}").ConfigureAwait(false);
    return 1;
}
