using System.Diagnostics;
using Berth.Interop;
using Berth.Runtime;

namespace Berth.UnitTests;

/// <summary>
/// runc's start rendezvous done by berthd itself (a real fifo, a real writer in the init's place). The runtime path
/// points at a runc that does not exist, so falling back to `runc start` would fail these tests.
/// </summary>
public sealed class ExecFifoStartTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly RuncDriver _driver;

    public ExecFifoStartTests()
    {
        _driver = new RuncDriver(new RuntimeOptions { RuntimePath = _root.Combine("missing", "runc"), RuntimeRoot = _root.Path, MonitorPath = "/nonexistent/berth-monitor" });
    }

    public void Dispose() => _root.Dispose();

    private string MakeFifo(string id)
    {
        Directory.CreateDirectory(_root.Combine(id));
        string fifo = _root.Combine(id, "exec.fifo");
        SpecialFile.Create(fifo, FileStatus.S_IFIFO, 0x1C0 /* 0700 */, 0, 0);
        return fifo;
    }

    [Fact]
    public async Task Start_releases_the_waiting_init_and_removes_the_fifo()
    {
        string fifo = MakeFifo("c1");
        // The init's side: open(O_WRONLY) blocks until a reader comes, then one byte, as runc init does before exec.
        Task init = Task.Factory.StartNew(() =>
        {
            using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            writer.Write("0"u8);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await _driver.StartAsync("c1", Environment.ProcessId, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        await init.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(File.Exists(fifo));
    }

    [Fact]
    public async Task Start_of_a_container_whose_init_died_returns_instead_of_waiting_forever()
    {
        string fifo = MakeFifo("c2");
        using Process gone = Process.Start("true")!;
        await gone.WaitForExitAsync();

        await _driver.StartAsync("c2", gone.Id, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.False(File.Exists(fifo));
    }

    [Fact]
    public async Task Without_a_fifo_the_runtime_itself_is_asked()
    {
        // No exec.fifo: not something this shortcut knows, so `runc start` runs, and here it cannot.
        Directory.CreateDirectory(_root.Combine("c3"));
        await Assert.ThrowsAnyAsync<Exception>(() => _driver.StartAsync("c3", Environment.ProcessId, CancellationToken.None));
    }
}
