// The engine-free core (protocol, decoding, jitter buffer, name mapping, client) as an Unreal
// module: the same sources CMakeLists.txt builds and tests outside the engine.
//
// Third-party code it needs, under Plugins/FaceBridge/ThirdParty/ (not shipped; see README):
//   zmq/include/zmq.h, zmq/include/zmq.hpp (cppzmq), zmq/lib/<Platform>/ (static libzmq)
//   msgpack/include/msgpack.hpp and msgpack/ (msgpack-cxx, header-only, used without Boost)
using System.IO;
using UnrealBuildTool;

public class FaceBridgeCore : ModuleRules
{
	public FaceBridgeCore(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.NoPCHs;   // engine-free C++17: no engine headers in the core
		bUseUnity = false;
		bEnableExceptions = true;        // cppzmq and msgpack-cxx throw; the core catches everything
		CppStandard = CppStandardVersion.Cpp17;

		PublicDependencyModuleNames.Add("Core");  // only for IMPLEMENT_MODULE

		string ThirdParty = Path.GetFullPath(Path.Combine(ModuleDirectory, "..", "..", "ThirdParty"));
		string Zmq = Path.Combine(ThirdParty, "zmq");
		PublicSystemIncludePaths.Add(Path.Combine(Zmq, "include"));
		PublicSystemIncludePaths.Add(Path.Combine(ThirdParty, "msgpack", "include"));
		PrivateDefinitions.Add("MSGPACK_NO_BOOST=1");
		PrivateDefinitions.Add("ZMQ_STATIC");

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Zmq, "lib", "Win64", "libzmq.lib"));
			PublicSystemLibraries.AddRange(new string[] { "ws2_32.lib", "iphlpapi.lib", "advapi32.lib" });
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Zmq, "lib", "Mac", "libzmq.a"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Zmq, "lib", "Linux", "libzmq.a"));
		}
	}
}
