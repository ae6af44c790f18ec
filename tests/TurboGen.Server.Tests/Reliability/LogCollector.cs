using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TurboGen.Server.Tests.Reliability;

/// <summary>Keeps the server's warnings and errors, so a test can prove that nothing went wrong unseen (no 5xx, no crash in a loop).</summary>
public sealed class LogCollector : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    public IReadOnlyList<string> Errors => Entries.Where(e => e.Level >= LogLevel.Error)
        .Select(e => $"{e.Category}: {e.Message}{(e.Exception is null ? "" : " — " + e.Exception.GetType().Name + ": " + e.Exception.Message)}").ToList();

    public void Attach(ILoggingBuilder builder) => builder.AddProvider(this);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Entries.Enqueue((logLevel, category, formatter(state, exception), exception));
        }
    }
}
