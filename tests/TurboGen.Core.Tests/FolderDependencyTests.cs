using System.Reflection;
using System.Reflection.Emit;
using TurboGen.Pipelines;

namespace TurboGen.Core.Tests;

/// <summary>
/// The folders of TurboGen.Core (one namespace each: <c>TurboGen.&lt;Folder&gt;</c>, sub-folders <c>TurboGen.&lt;Folder&gt;.&lt;Sub&gt;</c>)
/// depend on each other without cycles, and Core makes no HTTP calls. Dependencies are read from the compiled assembly: every type a
/// type's signatures, fields, locals and method bodies (IL) refer to, so a reference hidden in a lambda or a fully qualified name
/// counts as well as a <c>using</c>.
/// </summary>
public sealed class FolderDependencyTests
{
    private static readonly Assembly Core = typeof(TurboPipeline).Assembly;

    [Fact]
    public void TopLevelFolders_HaveNoCycles() => AssertAcyclic(Dependencies(FolderOf));

    [Fact]
    public void Namespaces_HaveNoCycles() => AssertAcyclic(Dependencies(t => NamespaceOf(t)));

    [Fact]
    public void Core_HasNoHttp()
    {
        var http = Core.GetTypes()
            .SelectMany(t => ReferencedTypes(t).Select(r => (From: t, To: r)))
            .Where(x => x.To.Namespace is { } ns && (ns.StartsWith("System.Net.Http", StringComparison.Ordinal) || ns.StartsWith("System.Net.Sockets", StringComparison.Ordinal)))
            .Select(x => $"{x.From.FullName} uses {x.To.FullName}")
            .Distinct().ToList();
        Assert.True(http.Count == 0, "TurboGen.Core must not use HTTP (the Hub client lives in TurboGen.Hub):\n" + string.Join("\n", http));
    }

    /// <summary>The dependency test can fail: a two-folder cycle is reported with the type references behind each edge.</summary>
    [Fact]
    public void CycleFinder_ReportsACycle()
    {
        var graph = new Dictionary<string, Dictionary<string, string>>
        {
            ["A"] = new() { ["B"] = "A.X uses B.Y" },
            ["B"] = new() { ["C"] = "B.Y uses C.Z" },
            ["C"] = new() { ["A"] = "C.Z uses A.X" },
            ["D"] = new() { ["A"] = "D.W uses A.X" },
        };
        var cycles = Cycles(graph);
        Assert.Single(cycles);
        Assert.Equal(["A", "B", "C"], cycles[0].Order());
    }

    private static void AssertAcyclic(Dictionary<string, Dictionary<string, string>> graph)
    {
        var cycles = Cycles(graph);
        Assert.True(cycles.Count == 0, "Dependency cycles between Core folders:\n" + string.Join("\n", cycles.Select(c =>
            string.Join(", ", c) + ":\n  " + string.Join("\n  ", c.SelectMany(from => graph[from].Where(e => c.Contains(e.Key)).Select(e => $"{from} → {e.Key} ({e.Value})"))))));
    }

    /// <summary>Folder → (folder it uses → one example "type uses type"). Types of the root namespace (TurboGen: errors, ModelFamily) are shared by all and left out.</summary>
    private static Dictionary<string, Dictionary<string, string>> Dependencies(Func<Type, string?> node)
    {
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in Core.GetTypes())
        {
            if (node(type) is not { } from) continue;
            var edges = graph.TryGetValue(from, out var e) ? e : graph[from] = new(StringComparer.Ordinal);
            foreach (var used in ReferencedTypes(type))
            {
                if (used.Assembly == Core && node(used) is { } to && to != from)
                {
                    edges.TryAdd(to, $"{type.FullName} uses {used.FullName}");
                }
            }
        }
        return graph;
    }

    private static string? NamespaceOf(Type t) =>
        t.Namespace is { } ns && ns.StartsWith("TurboGen.", StringComparison.Ordinal) ? ns["TurboGen.".Length..] : null;

    private static string? FolderOf(Type t) => NamespaceOf(t)?.Split('.')[0];

    /// <summary>Strongly connected components with more than one node (Tarjan).</summary>
    private static List<List<string>> Cycles(Dictionary<string, Dictionary<string, string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (string w in graph.TryGetValue(v, out var edges) ? edges.Keys : Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                component.Add(x);
            } while (x != v);
            if (component.Count > 1) result.Add(component);
        }
        foreach (string v in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(v)) Visit(v);
        }
        return result;
    }

    // ---- what a type refers to ---------------------------------------------------------------------------

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private static IEnumerable<Type> ReferencedTypes(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null) return;
            while (t.HasElementType) t = t.GetElementType()!;
            if (t.IsGenericParameter || !found.Add(t)) return;
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (var a in t.GetGenericArguments()) Add(a);
            }
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(All)) Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) Add(p.PropertyType);
        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (method is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in method.GetParameters()) Add(p.ParameterType);
            var body = method.GetMethodBody();
            if (body is null) continue;
            foreach (var local in body.LocalVariables) Add(local.LocalType);
            foreach (var member in MembersInIl(method, body.GetILAsByteArray() ?? []))
            {
                Add(member as Type ?? member.DeclaringType);
                if (member is MethodInfo called)
                {
                    Add(called.ReturnType);
                    if (called.IsGenericMethod) foreach (var a in called.GetGenericArguments()) Add(a);
                }
                if (member is FieldInfo field) Add(field.FieldType);
            }
        }
        found.Remove(type);
        return found;
    }

    /// <summary>The types, methods and fields an IL body's tokens name.</summary>
    private static IEnumerable<MemberInfo> MembersInIl(MethodBase method, byte[] il)
    {
        var typeArgs = method.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int pos = 0;
        while (pos < il.Length)
        {
            short value = il[pos] == 0xFE ? (short)(0xFE00 | il[pos + 1]) : il[pos];
            pos += il[pos] == 0xFE ? 2 : 1;
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineTok:
                    MemberInfo? member = null;
                    try
                    {
                        member = method.Module.ResolveMember(BitConverter.ToInt32(il, pos), typeArgs, methodArgs);
                    }
                    catch (ArgumentException)
                    {
                    }
                    if (member is not null) yield return member;
                    pos += 4;
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    pos += 1;
                    break;
                case OperandType.InlineVar:
                    pos += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    pos += 8;
                    break;
                case OperandType.InlineSwitch:
                    pos += 4 + 4 * BitConverter.ToInt32(il, pos);
                    break;
                default:
                    pos += 4;
                    break;
            }
        }
    }
}
