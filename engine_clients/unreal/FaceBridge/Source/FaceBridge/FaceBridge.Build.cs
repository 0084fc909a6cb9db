// The Unreal glue: a Live Link source (ARKit curve names, so MetaHumans work unchanged), its
// factory and settings, and UFaceBridgeComponent (morph targets, a transient video texture).
// Everything protocol-related is in FaceBridgeCore.
using UnrealBuildTool;

public class FaceBridge : ModuleRules
{
	public FaceBridge(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "LiveLinkInterface", "FaceBridgeCore" });
		PrivateDependencyModuleNames.AddRange(new string[] { "RenderCore", "RHI" });
	}
}
