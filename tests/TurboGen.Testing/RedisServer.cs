using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace TurboGen.Testing;

/// <summary>
/// A private <c>redis-server</c> (Debian's package; <c>./build.sh test</c> installs it) on 127.0.0.1 and a free port, without
/// persistence, for the scale-out tests. <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> take it away and bring it back on
/// the same port (the Redis-down tests); disposing stops it.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("turbogen-redis");
    private Process? _process;

    private RedisServer(int port) => Port = port;

    public int Port { get; }

    /// <summary>The <c>--queue</c> value: redis://127.0.0.1:PORT.</summary>
    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(FreePort());
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>The redis-server executable: REDIS_SERVER, else redis-server on PATH (or Debian's /usr/bin/redis-server).</summary>
    public static string Executable
    {
        get
        {
            if (Environment.GetEnvironmentVariable("REDIS_SERVER") is { Length: > 0 } configured) return configured;
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/sbin"))
            {
                string candidate = Path.Combine(dir, "redis-server");
                if (File.Exists(candidate)) return candidate;
            }
            throw new InvalidOperationException("redis-server is not installed: the scale-out tests need it (./build.sh test installs Debian's redis-server; or set REDIS_SERVER).");
        }
    }

    public async Task StartAgainAsync()
    {
        if (_process is { HasExited: false }) return;
        var info = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = _dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", _dir, "--protected-mode", "yes", "--loglevel", "warning" })
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"redis-server exited with {_process.ExitCode} on port {Port}.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(25);
            }
        }
        throw new TimeoutException($"redis-server did not listen on 127.0.0.1:{Port} within 20 s.");
    }

    /// <summary>Kills the server (SIGKILL: no goodbye to its clients) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process) return;
        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
