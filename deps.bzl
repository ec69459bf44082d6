"""The repositories talkcheck needs, for a workspace that uses it.

A client project's WORKSPACE (WORKSPACE mode has no transitive repositories):

    local_repository(name = "talkcheck", path = "third_party/talkcheck")
    load("@talkcheck//:deps.bzl", "talkcheck_dependencies")
    talkcheck_dependencies(talkcheck_path = "third_party/talkcheck")

`talkcheck_path` is where talkcheck's tree is, relative to the client project's
workspace root (or absolute). Everything is local: nothing is downloaded.
"""

def talkcheck_dependencies(talkcheck_path):
    native.local_repository(name = "rules_cc", path = talkcheck_path + "/third_party/rules_cc")
    native.local_repository(name = "rules_java", path = "/usr/share/bazel/rules/java")
    native.local_repository(name = "remote_coverage_tools", path = talkcheck_path + "/third_party/remote_coverage_tools")
    native.local_repository(name = "com_google_protobuf", path = talkcheck_path + "/third_party/protobuf")
    native.local_repository(name = "platforms", path = "/usr/share/bazel/tools/platforms")
    native.new_local_repository(
        name = "system_libs",
        path = "/usr",
        build_file = "@talkcheck//third_party:system_libs.BUILD",
    )
