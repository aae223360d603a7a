using SimNpo.Cli;
using SimNpo.Unlearn.Distributed;

ICommunicator world;
try
{
    world = Ranks.Join();
}
catch (Exception e) when (e is DllNotFoundException or MpiException or EntryPointNotFoundException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return CommandRunner.Failure;
}
// A failure on another thread never reaches CommandRunner's handlers: one line and exit 1 for it too, not a trace.
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    Console.Error.WriteLine(CommandRunner.Unexpected(e.ExceptionObject as Exception ?? new Exception($"{e.ExceptionObject}")));
    Environment.Exit(Ranks.Leave(world, CommandRunner.Failure));
};
return Ranks.Leave(world, CommandRunner.Run(Commands.Root(), args));
