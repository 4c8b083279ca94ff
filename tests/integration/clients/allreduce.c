/* Sums every rank's (rank + 1) with MPI_Allreduce and prints one line per rank:
 * "rank R size S sum X node N host H". N is the shoal node the rank's launcher (Open MPI's orted,
 * MPICH's hydra_pmi_proxy: a task of a shoal step) runs on, read from that parent's environment:
 * launchers hand their ranks mpirun's own variables, so the rank's SLURMD_NODENAME may be the
 * first node's whichever node it runs on. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ParentNode(char* out, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/environ", (int)getppid());
  snprintf(out, len, "?");
  FILE* f = fopen(path, "r");
  if (f == NULL) return;
  static char env[1 << 20];
  size_t n = fread(env, 1, sizeof env - 1, f);
  fclose(f);
  env[n] = '\0';
  for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
    if (strncmp(env + i, "SLURMD_NODENAME=", 16) == 0) {
      snprintf(out, len, "%s", env + i + 16);
      return;
    }
  }
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0, len = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char host[MPI_MAX_PROCESSOR_NAME];
  MPI_Get_processor_name(host, &len);
  long mine = rank + 1, sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  char node[256];
  ParentNode(node, sizeof node);
  printf("rank %d size %d sum %ld node %s host %s\n", rank, size, sum, node, host);
  fflush(stdout);
  MPI_Finalize();
  return 0;
}
