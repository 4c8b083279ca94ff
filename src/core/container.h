// Checks and normal forms of the container options (pyxis's --container-* spellings) shared by
// the commands, which check at submit, and the controller, which checks every request again.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "core/model.h"

namespace shoal {

// pyxis/enroot image references in podman's spelling: "docker://ubuntu:22.04" -> "ubuntu:22.04",
// "nvcr.io#nvidia/pytorch:24.01" -> "nvcr.io/nvidia/pytorch:24.01". Archives stay paths:
// "/x/img.tar" (a docker archive, as `podman save` writes), "oci-archive:/x/img.tar" or
// "docker-archive:/x/img.tar"; `cwd` makes a relative path ("./img.tar") absolute. Enroot's
// squashfs files and credentials in the reference are refused with the reason.
Result<std::string> NormalizeContainerImage(std::string_view image, std::string_view cwd);

// A mount as given ("SRC[:DST[:FLAGS]]", FLAGS "+"-joined) with a relative SRC made absolute
// against `cwd`; errors say what is wrong with it.
Result<std::string> NormalizeContainerMount(std::string_view mount, std::string_view cwd);

// Every field well formed (the image already normalized). The options that need an image
// (mounts, workdir, ...) without one are an error too. Messages name the option.
Status ValidateContainerSpec(const ContainerSpec& c);

// An archive reference's transport and path: {"docker-archive", "/x/img.tar"}; empty transport
// for a name in podman's storage.
struct ContainerImageRef {
  std::string transport;  // "", "docker-archive" or "oci-archive"
  std::string path;       // the archive, or the name
};
ContainerImageRef SplitContainerImage(std::string_view image);

// "Container=localhost/x:1 Mounts=/a:/b ..." pieces for scontrol show job: the spec in one line.
std::string ContainerSummary(const ContainerSpec& c);

}  // namespace shoal
