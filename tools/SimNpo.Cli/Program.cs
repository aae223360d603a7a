using SimNpo.Cli;

// A failure on another thread never reaches CommandRunner's handlers: one line and exit 1 for it too, not a trace.
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    Console.Error.WriteLine(CommandRunner.Unexpected(e.ExceptionObject as Exception ?? new Exception($"{e.ExceptionObject}")));
    Environment.Exit(CommandRunner.Failure);
};
return CommandRunner.Run(Commands.Root(), args);
