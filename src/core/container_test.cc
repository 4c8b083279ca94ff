#include "core/container.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

std::string Norm(std::string_view image) {
  Result<std::string> r = NormalizeContainerImage(image, "/home/u/run");
  return r.ok() ? *r : "error: " + r.status().message();
}

TEST(ContainerImage, PyxisSpellingsBecomePodmans) {
  EXPECT_EQ(Norm("ubuntu:22.04"), "ubuntu:22.04");
  EXPECT_EQ(Norm("docker://ubuntu:22.04"), "ubuntu:22.04");
  EXPECT_EQ(Norm("nvcr.io#nvidia/pytorch:24.01-py3"), "nvcr.io/nvidia/pytorch:24.01-py3");
  EXPECT_EQ(Norm("docker://nvcr.io#nvidia/pytorch:24.01"), "nvcr.io/nvidia/pytorch:24.01");
  EXPECT_EQ(Norm("localhost/test:1"), "localhost/test:1");
  EXPECT_EQ(Norm("alpine@sha256:abcd"), "alpine@sha256:abcd");
}

TEST(ContainerImage, ArchivesArePaths) {
  EXPECT_EQ(Norm("/data/img.tar"), "/data/img.tar");
  EXPECT_EQ(Norm("./img.tar"), "/home/u/run/img.tar");
  EXPECT_EQ(Norm("../img.tar"), "/home/u/run/../img.tar");
  EXPECT_EQ(Norm("oci-archive:img.tar"), "oci-archive:/home/u/run/img.tar");
  EXPECT_EQ(Norm("docker-archive:/x/i.tar"), "docker-archive:/x/i.tar");
  EXPECT_EQ(SplitContainerImage("/x/i.tar").transport, "docker-archive");
  EXPECT_EQ(SplitContainerImage("oci-archive:/x/i.tar").path, "/x/i.tar");
  EXPECT_EQ(SplitContainerImage("oci-archive:/x/i.tar").transport, "oci-archive");
  EXPECT_EQ(SplitContainerImage("ubuntu:22.04").transport, "");
}

TEST(ContainerImage, RefusesWhatPodmanCannotRun) {
  EXPECT_NE(Norm("/x/pytorch.sqsh").find("squashfs"), std::string::npos);
  EXPECT_NE(Norm("user@nvcr.io#nvidia/x").find("credentials"), std::string::npos);
  EXPECT_NE(Norm("http://x/y").find("unsupported image URI"), std::string::npos);
  EXPECT_EQ(Norm("").rfind("error:", 0), 0u);
  EXPECT_EQ(Norm("a b").rfind("error:", 0), 0u);
  EXPECT_EQ(Norm("-v").rfind("error:", 0), 0u);
  EXPECT_EQ(Norm("oci-archive:").rfind("error:", 0), 0u);
}

TEST(ContainerMounts, NormalizesAndChecks) {
  auto m = [](std::string_view s) {
    Result<std::string> r = NormalizeContainerMount(s, "/w");
    return r.ok() ? *r : "error: " + r.status().message();
  };
  EXPECT_EQ(m("/a:/b"), "/a:/b");
  EXPECT_EQ(m("data:/mnt:ro"), "/w/data:/mnt:ro");
  EXPECT_EQ(m("/a:/b:ro+rprivate"), "/a:/b:ro+rprivate");
  EXPECT_EQ(m("/scratch"), "/scratch");
  EXPECT_NE(m("/a:b").find("absolute"), std::string::npos);
  EXPECT_NE(m("/a:/b:x-create=dir").find("unsupported mount flag"), std::string::npos);
  EXPECT_EQ(m("/a::/b").rfind("error:", 0), 0u);
  EXPECT_EQ(m("/a:/b:ro:x").rfind("error:", 0), 0u);
  EXPECT_EQ(m("").rfind("error:", 0), 0u);
}

TEST(ContainerSpecCheck, AcceptsAWholeSpec) {
  ContainerSpec c;
  EXPECT_TRUE(ValidateContainerSpec(c).ok());
  c.image = "localhost/x:1";
  c.mounts = {"/a:/b:ro"};
  c.workdir = "/b";
  c.name = "ctr_1.x";
  c.env = {"PATH", "MY_VAR"};
  EXPECT_TRUE(ValidateContainerSpec(c).ok());
}

TEST(ContainerSpecCheck, RefusesBadFields) {
  ContainerSpec base;
  base.image = "localhost/x:1";
  auto bad = [&](auto change, const char* needle) {
    ContainerSpec c = base;
    change(c);
    Status s = ValidateContainerSpec(c);
    EXPECT_FALSE(s.ok()) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  bad([](ContainerSpec& c) { c.workdir = "rel"; }, "--container-workdir");
  bad([](ContainerSpec& c) { c.name = "-x"; }, "--container-name");
  bad([](ContainerSpec& c) { c.name = "a/b"; }, "--container-name");
  bad([](ContainerSpec& c) { c.env = {"1X"}; }, "--container-env");
  bad([](ContainerSpec& c) { c.env = {"A=B"}; }, "--container-env");
  bad([](ContainerSpec& c) { c.mounts = {"rel:/b"}; }, "--container-mounts");
  bad([](ContainerSpec& c) { c.image = "nvcr.io#x"; }, "podman's spelling");
  bad([](ContainerSpec& c) { c.image = "oci-archive:rel.tar"; }, "absolute");
  bad(
      [](ContainerSpec& c) {
        c.image.clear();
        c.mounts = {"/a:/b"};
      },
      "need --container-image");
  bad(
      [](ContainerSpec& c) {
        c.image.clear();
        c.remap_root = true;
      },
      "need --container-image");
}

// A later step of a job reuses its named container by the name alone (pyxis): the image is
// needed only by the step that creates it, and the per-run options still apply.
TEST(ContainerSpecCheck, ANameAloneReusesTheJobsContainer) {
  ContainerSpec c;
  c.name = "build";
  EXPECT_TRUE(c.Enabled());
  EXPECT_TRUE(ValidateContainerSpec(c).ok());
  c.mounts = {"/a:/b"};
  c.workdir = "/b";
  EXPECT_TRUE(ValidateContainerSpec(c).ok());
  c.name = "a/b";
  EXPECT_NE(ValidateContainerSpec(c).message().find("--container-name"), std::string::npos);
  ContainerSpec named;
  named.name = "build";
  EXPECT_EQ(ContainerSummary(named), "ContainerName=build");
}

TEST(ContainerSpecCheck, SummaryForScontrol) {
  ContainerSpec c;
  EXPECT_EQ(ContainerSummary(c), "");
  c.image = "localhost/x:1";
  EXPECT_EQ(ContainerSummary(c), "ContainerImage=localhost/x:1");
  c.mounts = {"/a:/b", "/c:/d:ro"};
  c.remap_root = true;
  c.writable = false;
  EXPECT_EQ(ContainerSummary(c),
            "ContainerImage=localhost/x:1 ContainerMounts=/a:/b,/c:/d:ro "
            "ContainerFlags=remap-root,readonly");
}

}  // namespace
}  // namespace shoal
