// Entry points of the Slurm-named commands. Each takes the full argv (argv[0] is the
// command's name) and returns the process exit code, printing as Slurm does.
#pragma once

namespace shoal {

int SbatchMain(int argc, char** argv);
int SqueueMain(int argc, char** argv);
int SinfoMain(int argc, char** argv);
int ScancelMain(int argc, char** argv);
int ScontrolMain(int argc, char** argv);
// `shoal token [lifespan=S] [username=NAME]`: scontrol token under shoal's name.
int ShoalTokenMain(int argc, char** argv);
int SacctMain(int argc, char** argv);
int SrunMain(int argc, char** argv);
int SallocMain(int argc, char** argv);
int SprioMain(int argc, char** argv);
int SacctmgrMain(int argc, char** argv);
int SshareMain(int argc, char** argv);
int SreportMain(int argc, char** argv);
int SstatMain(int argc, char** argv);

}  // namespace shoal
