using TurboGen.Cli;

return await CliApp.RunAsync(args).ConfigureAwait(false);
