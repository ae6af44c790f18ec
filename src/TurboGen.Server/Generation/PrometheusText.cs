using System.Globalization;
using System.Text;

namespace TurboGen.Server.Generation;

/// <summary>
/// The one writer of the Prometheus text format behind <c>/metrics</c> (<see cref="ServerMetrics"/> and, on a gateway, the
/// queue's <c>Scaling.QueueMetrics</c>): a family's HELP and TYPE lines, then its samples with escaped label values.
/// </summary>
public sealed class PrometheusText(StringBuilder sb)
{
    /// <summary>The HELP and TYPE lines of a metric family (<paramref name="type"/>: counter, gauge, histogram or summary).</summary>
    public PrometheusText Family(string name, string type, string help)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"# HELP {name} {help}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# TYPE {name} {type}");
        return this;
    }

    /// <summary>One sample line: <c>name{label="value",…} value</c> (no braces without labels).</summary>
    public PrometheusText Sample(string name, double value, params (string Name, string Value)[] labels)
    {
        sb.Append(name);
        if (labels.Length > 0)
        {
            sb.Append('{').AppendJoin(',', labels.Select(l => $"{l.Name}=\"{Escape(l.Value)}\"")).Append('}');
        }
        sb.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).AppendLine();
        return this;
    }

    /// <summary>A family with one sample; a name ending in <c>_total</c> is a counter, anything else a gauge.</summary>
    public PrometheusText Single(string name, string help, double value, params (string Name, string Value)[] labels) =>
        Family(name, name.EndsWith("_total", StringComparison.Ordinal) ? "counter" : "gauge", help).Sample(name, value, labels);

    /// <summary>A label value as the format wants it: backslash, double quote and newline escaped.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
