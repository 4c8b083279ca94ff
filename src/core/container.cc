#include "core/container.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/strings.h"

namespace shoal {
namespace {

constexpr size_t kMaxReference = 4096;

bool HasControlOrSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c <= ' ' || c == 0x7f;
  });
}

std::string Absolute(std::string_view path, std::string_view cwd) {
  if (path.starts_with('/')) return std::string(path);
  std::string out(cwd);
  if (out.empty() || out.back() != '/') out += '/';
  if (path.starts_with("./")) path.remove_prefix(2);
  return out + std::string(path);
}

bool LooksLikePath(std::string_view s) {
  return s.starts_with('/') || s.starts_with("./") || s.starts_with("../");
}

bool ValidName(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  if (!std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool ValidEnvName(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The mount flags pyxis users write that podman's -v also takes.
const std::set<std::string, std::less<>>& MountFlags() {
  static const std::set<std::string, std::less<>> flags = {
      "ro",     "rw",     "private", "rprivate", "shared", "rshared", "slave",
      "rslave", "nosuid", "nodev",   "noexec",   "bind",   "rbind"};
  return flags;
}

}  // namespace

Result<std::string> NormalizeContainerImage(std::string_view image, std::string_view cwd) {
  const std::string given(image);
  if (image.empty()) return InvalidArgument("--container-image: the image must not be empty");
  if (image.size() > kMaxReference || HasControlOrSpace(image) || !IsUtf8(image)) {
    return InvalidArgument("--container-image: invalid image reference '" + given + "'");
  }
  for (std::string_view transport : {"docker-archive:", "oci-archive:"}) {
    if (image.starts_with(transport)) {
      std::string_view path = image.substr(transport.size());
      if (path.empty()) {
        return InvalidArgument("--container-image: '" + given + "' names no archive file");
      }
      return std::string(transport) + Absolute(path, cwd);
    }
  }
  if (LooksLikePath(image)) {
    if (image.ends_with(".sqsh") || image.ends_with(".squashfs")) {
      return InvalidArgument("--container-image: '" + given +
                             "' is an enroot squashfs file, which podman cannot run: use a "
                             "docker or OCI archive (podman save) or an image in podman's storage");
    }
    return Absolute(image, cwd);
  }
  if (image.starts_with("docker://")) {
    image.remove_prefix(9);
  } else if (image.starts_with("dockerd://")) {
    image.remove_prefix(10);  // enroot: the local Docker daemon; here podman's own storage
  } else if (image.find("://") != std::string_view::npos) {
    return InvalidArgument("--container-image: unsupported image URI '" + given +
                           "' (docker://, dockerd://, a name, or an archive path)");
  }
  std::string out(image);
  size_t hash = out.find('#');
  size_t at = out.find('@');
  if (at != std::string::npos &&
      (hash == std::string::npos ? out.compare(at + 1, 7, "sha256:") != 0 : at < hash)) {
    return InvalidArgument("--container-image: credentials in the image reference ('" + given +
                           "') are not supported: log in with `podman login` on the nodes");
  }
  if (hash != std::string::npos) out[hash] = '/';
  if (out.empty() || out.front() == '-' || out.find('#') != std::string::npos ||
      out.front() == '/' || out.back() == '/' || out.back() == ':') {
    return InvalidArgument("--container-image: invalid image reference '" + given + "'");
  }
  return out;
}

Result<std::string> NormalizeContainerMount(std::string_view mount, std::string_view cwd) {
  const std::string given(mount);
  std::vector<std::string> parts = Split(mount, ':');
  if (mount.empty() || parts.size() > 3 || HasControlOrSpace(mount) ||
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    return InvalidArgument("--container-mounts: invalid mount '" + given + "' (SRC[:DST[:FLAGS]])");
  }
  parts[0] = Absolute(parts[0], cwd);
  if (parts.size() >= 2 && !parts[1].starts_with('/')) {
    return InvalidArgument("--container-mounts: the destination of '" + given +
                           "' must be an absolute path");
  }
  if (parts.size() == 3) {
    for (const std::string& flag : Split(parts[2], '+')) {
      if (!MountFlags().contains(flag)) {
        return InvalidArgument("--container-mounts: unsupported mount flag '" + flag + "' in '" +
                               given + "'");
      }
    }
  }
  return Join(parts, ":");
}

Status ValidateContainerSpec(const ContainerSpec& c) {
  if (c.image.empty() && c.name.empty()) {
    if (!c.mounts.empty() || !c.workdir.empty() || !c.env.empty() || c.remap_root || c.mount_home ||
        !c.writable || c.entrypoint) {
      return InvalidArgument(
          "--container-* options need --container-image, or --container-name naming a container "
          "an earlier step of the job created");
    }
    return Status();
  }
  if (!c.image.empty()) {
    if (c.image.size() > kMaxReference || HasControlOrSpace(c.image) || !IsUtf8(c.image) ||
        c.image.front() == '-') {
      return InvalidArgument("--container-image: invalid image reference '" + c.image + "'");
    }
    if (c.image.find('#') != std::string::npos || c.image.find("://") != std::string::npos) {
      return InvalidArgument("--container-image: '" + c.image + "' is not in podman's spelling");
    }
    ContainerImageRef ref = SplitContainerImage(c.image);
    if (!ref.transport.empty() && !ref.path.starts_with('/')) {
      return InvalidArgument("--container-image: the archive path in '" + c.image +
                             "' must be absolute");
    }
  }
  if (c.mounts.size() > 256) return InvalidArgument("--container-mounts: too many mounts");
  for (const std::string& m : c.mounts) {
    Result<std::string> n = NormalizeContainerMount(m, "/");
    if (!n.ok()) return n.status();
    if (!m.starts_with('/')) {
      return InvalidArgument("--container-mounts: the source of '" + m + "' must be absolute");
    }
  }
  if (!c.workdir.empty() &&
      (!c.workdir.starts_with('/') || HasControlOrSpace(c.workdir) || c.workdir.size() > 4096)) {
    return InvalidArgument("--container-workdir: '" + c.workdir + "' must be an absolute path");
  }
  if (!c.name.empty() && !ValidName(c.name, 64)) {
    return InvalidArgument("--container-name: invalid name '" + c.name +
                           "' (letters, digits, '_', '.', '-'; at most 64)");
  }
  if (c.env.size() > 1024) return InvalidArgument("--container-env: too many variables");
  for (const std::string& e : c.env) {
    if (!ValidEnvName(e)) {
      return InvalidArgument("--container-env: invalid variable name '" + e + "'");
    }
  }
  return Status();
}

ContainerImageRef SplitContainerImage(std::string_view image) {
  for (std::string_view transport : {"docker-archive", "oci-archive"}) {
    if (image.starts_with(transport) && image.size() > transport.size() &&
        image[transport.size()] == ':') {
      return {std::string(transport), std::string(image.substr(transport.size() + 1))};
    }
  }
  if (image.starts_with('/')) return {"docker-archive", std::string(image)};
  return {"", std::string(image)};
}

std::string ContainerSummary(const ContainerSpec& c) {
  if (!c.Enabled()) return "";
  std::string out;
  if (!c.image.empty()) out = "ContainerImage=" + c.image;
  auto add = [&](const std::string& piece) { out += (out.empty() ? "" : " ") + piece; };
  if (!c.mounts.empty()) add("ContainerMounts=" + Join(c.mounts, ","));
  if (!c.workdir.empty()) add("ContainerWorkdir=" + c.workdir);
  if (!c.name.empty()) add("ContainerName=" + c.name);
  if (!c.env.empty()) add("ContainerEnv=" + Join(c.env, ","));
  std::vector<std::string> flags;
  if (c.remap_root) flags.push_back("remap-root");
  if (c.mount_home) flags.push_back("mount-home");
  if (!c.writable) flags.push_back("readonly");
  if (c.entrypoint) flags.push_back("entrypoint");
  if (!flags.empty()) add("ContainerFlags=" + Join(flags, ","));
  return out;
}

}  // namespace shoal
