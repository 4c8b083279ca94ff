// The container spec as the agent protocol carries it.
#pragma once

#include "core/model.h"
#include "rpc/agent.pb.h"

namespace shoal {

inline void ContainerToRpc(const ContainerSpec& c, rpc::ContainerSpec* out) {
  out->set_image(c.image);
  for (const auto& m : c.mounts) out->add_mounts(m);
  out->set_workdir(c.workdir);
  out->set_name(c.name);
  for (const auto& e : c.env) out->add_env(e);
  out->set_remap_root(c.remap_root);
  out->set_mount_home(c.mount_home);
  out->set_writable(c.writable);
  out->set_entrypoint(c.entrypoint);
}

}  // namespace shoal
