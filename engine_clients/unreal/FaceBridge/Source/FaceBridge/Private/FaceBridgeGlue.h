// Private helpers between Unreal types and the engine-free core.
#pragma once

#include "CoreMinimal.h"
#include "FaceBridgeTypes.h"

THIRD_PARTY_INCLUDES_START
#include "FaceBridgeCore/Client.h"
#include "FaceBridgeCore/Names.h"
#include "FaceBridgeCore/Util.h"
THIRD_PARTY_INCLUDES_END

#include <string>

namespace FaceBridgeGlue
{
	inline std::string ToStd(const FString& S) { return std::string(TCHAR_TO_UTF8(*S)); }
	inline FString ToF(const std::string& S) { return FString(UTF8_TO_TCHAR(S.c_str())); }

	/** A file's bytes; false when it cannot be read. */
	bool LoadBytes(const FString& Path, std::string& Out);

	/** The core's configuration: endpoints, CURVE keys, and logs to LogFaceBridge. */
	bool MakeConfig(const FFaceBridgeConnection& Connection, const FString& ClientName, facebridge::ClientConfig& Out,
	                FString& OutError);

	/** The 61 Live Link curve names: the ARKit 52 as Unreal's ARKit support names them
	 *  (EyeBlinkLeft ... TongueOut), then HeadYaw, HeadPitch, HeadRoll and the eye angles. */
	const TArray<FName>& LiveLinkCurveNames();
}
