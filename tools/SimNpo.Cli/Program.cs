using SimNpo.Cli;

return CommandRunner.Run(Commands.Root(), args);
