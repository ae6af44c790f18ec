using System.CommandLine;
using System.Text.RegularExpressions;
using TurboGen.Server;
using TurboGen.Server.Scaling;
using YamlDotNet.RepresentationModel;

namespace TurboGen.Cli.Tests;

/// <summary>
/// deploy/*.yaml agree with the code: every document parses; the containers run CLI commands with options the CLI has and
/// environment variables the config provides; ports, the health path, the Redis address, the job stream KEDA scales on and the
/// names that tie Deployments, Services and the ScaledObject together.
/// </summary>
public sealed partial class DeployManifestTests
{
    private static readonly string DeployDir = Path.Combine(RepoRoot(), "deploy");

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TurboGen.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException("TurboGen.slnx not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every document of every manifest, by kind and name.</summary>
    private static List<YamlMappingNode> Documents()
    {
        var documents = new List<YamlMappingNode>();
        foreach (string file in Directory.GetFiles(DeployDir, "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file)) stream.Load(reader);
            foreach (var document in stream.Documents)
            {
                var root = Assert.IsType<YamlMappingNode>(document.RootNode, exactMatch: false);
                Assert.True(root.Children.ContainsKey("apiVersion") && root.Children.ContainsKey("kind"), $"{file}: a document without apiVersion/kind");
                documents.Add(root);
            }
        }
        return documents;
    }

    private static YamlMappingNode Find(List<YamlMappingNode> docs, string kind, string name) =>
        docs.Single(d => Text(d, "kind") == kind && Text(d, "metadata", "name") == name);

    private static YamlNode Node(YamlNode node, params string[] path)
    {
        foreach (string key in path) node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        return node;
    }

    private static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    private static IEnumerable<YamlMappingNode> Items(YamlNode node, params string[] path) => ((YamlSequenceNode)Node(node, path)).Children.Cast<YamlMappingNode>();

    private static YamlMappingNode Container(YamlMappingNode deployment) => Assert.Single(Items(deployment, "spec", "template", "spec", "containers"));

    private static Dictionary<string, string> Config(List<YamlMappingNode> docs) =>
        ((YamlMappingNode)Node(Find(docs, "ConfigMap", "turbogen-config"), "data")).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);

    [GeneratedRegex(@"\$\(([A-Z0-9_]+)\)")]
    private static partial Regex EnvReference();

    [Fact]
    public void Containers_RunCliCommandsWithOptionsTheCliHas_AndEnvironmentTheConfigProvides()
    {
        var docs = Documents();
        var root = CliApp.BuildRootCommand(Terminal.CreateDefault());
        var config = Config(docs);
        var secretKeys = ((YamlMappingNode)Node(Find(docs, "Secret", "turbogen-api-key"), "stringData")).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToHashSet();
        foreach (string name in new[] { "turbogen-gateway", "turbogen-worker" })
        {
            var container = Container(Find(docs, "Deployment", name));
            var args = ((YamlSequenceNode)Node(container, "args")).Children.Select(a => ((YamlScalarNode)a).Value!).ToList();
            var command = root.Subcommands.SingleOrDefault(c => c.Name == args[0]);
            Assert.True(command is not null, $"{name}: the CLI has no command '{args[0]}'");
            foreach (string flag in args.Where(a => a.StartsWith('-')))
            {
                Assert.True(command.Options.Concat(root.Options).Any(o => o.Name == flag || o.Aliases.Contains(flag)), $"{name}: `turbogen {args[0]}` has no option {flag}");
            }
            var sources = Items(container, "envFrom").Select(e => e.Children.ContainsKey("configMapRef") ? Text(e, "configMapRef", "name") : Text(e, "secretRef", "name")).ToList();
            Assert.Contains("turbogen-config", sources);
            foreach (Match m in args.SelectMany(a => EnvReference().Matches(a)))
            {
                string variable = m.Groups[1].Value;
                Assert.True(config.ContainsKey(variable) || secretKeys.Contains(variable), $"{name}: $({variable}) is in neither the ConfigMap nor the Secret");
            }
            // The CLI parses the arguments as Kubernetes passes them (variables substituted).
            var expanded = args.Select(a => EnvReference().Replace(a, v => config.GetValueOrDefault(v.Groups[1].Value) ?? "x")).ToArray();
            var parse = root.Parse(expanded);
            Assert.True(parse.Errors.Count == 0, $"{name}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }
        // A gateway bound beyond loopback needs the API key: the Secret provides the variable the server reads.
        Assert.Contains("TURBOGEN_API_KEY", secretKeys);
    }

    [Fact]
    public void Gateway_PortsAndProbes_MatchTheServer()
    {
        var docs = Documents();
        var gateway = Find(docs, "Deployment", "turbogen-gateway");
        var container = Container(gateway);
        var args = ((YamlSequenceNode)Node(container, "args")).Children.Select(a => ((YamlScalarNode)a).Value!).ToList();
        string port = args[args.IndexOf("--port") + 1];
        var named = Assert.Single(Items(container, "ports"));
        Assert.Equal(port, Text(named, "containerPort"));
        foreach (string probe in new[] { "startupProbe", "readinessProbe" })
        {
            Assert.Equal(TurboGenServer.HealthPath, Text(container, probe, "httpGet", "path"));
            Assert.Equal(Text(named, "name"), Text(container, probe, "httpGet", "port"));
        }
        var service = Find(docs, "Service", "turbogen-gateway");
        Assert.Equal(Text(named, "name"), Text(Assert.Single(Items(service, "spec", "ports")), "targetPort"));
        Assert.Equal("ClientIP", Text(service, "spec", "sessionAffinity")); // a WebSocket session stays on its gateway
        foreach (var deployment in new[] { "turbogen-gateway", "turbogen-worker", "turbogen-redis" }.Select(n => Find(docs, "Deployment", n)))
        {
            Assert.Equal(Node(deployment, "spec", "selector", "matchLabels"), Node(deployment, "spec", "template", "metadata", "labels"));
        }
        Assert.Equal(Node(Find(docs, "Deployment", "turbogen-gateway"), "spec", "selector", "matchLabels"), Node(service, "spec", "selector"));
    }

    [Fact]
    public void Keda_ScalesTheWorkers_OnTheStreamTheyRead_AtTheRedisTheyUse()
    {
        var docs = Documents();
        var config = Config(docs);
        var queue = QueueAddress.Parse(config["TURBOGEN_QUEUE"]);
        var redis = Find(docs, "Service", queue.Host);
        Assert.Equal(queue.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(Assert.Single(Items(redis, "spec", "ports")), "port"));

        var scaled = Find(docs, "ScaledObject", "turbogen-worker");
        Assert.Equal("keda.sh/v1alpha1", Text(scaled, "apiVersion"));
        var worker = Find(docs, "Deployment", Text(scaled, "spec", "scaleTargetRef", "name"));
        var trigger = Assert.Single(Items(scaled, "spec", "triggers"));
        Assert.Equal("redis-streams", Text(trigger, "type"));
        Assert.Equal($"{queue.Host}:{queue.Port}", Text(trigger, "metadata", "address"));
        // The worker registers the model under its first --served-model-name, and reads the stream of that id.
        Assert.Contains("$(TURBOGEN_MODEL_NAME)", ((YamlSequenceNode)Node(Container(worker), "args")).Children.Select(a => ((YamlScalarNode)a).Value));
        Assert.Equal(QueueAddress.Jobs(config["TURBOGEN_MODEL_NAME"]), Text(trigger, "metadata", "stream"));
        var metadata = (YamlMappingNode)Node(trigger, "metadata");
        if (metadata.Children.ContainsKey("consumerGroup")) Assert.Equal(QueueAddress.Group, Text(metadata, "consumerGroup"));
        Assert.True(int.Parse(Text(metadata, "streamLength"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("1", Text(Container(worker), "resources", "requests", "nvidia.com/gpu"));
    }
}
