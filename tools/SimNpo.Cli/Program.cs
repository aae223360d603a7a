using System.CommandLine;
using SimNpo.Cli;

var root = new RootCommand("simnpo: LLM unlearning with SimNPO, on a from-scratch Llama engine (CPU reference and ILGPU kernels).");
foreach (var command in Commands.All()) root.Subcommands.Add(command);
return CommandRunner.Run(root, args);
