#include "FaceBridgeGlue.h"

#include "Misc/FileHelper.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

DEFINE_LOG_CATEGORY(LogFaceBridge);

IMPLEMENT_MODULE(FDefaultModuleImpl, FaceBridge)

namespace FaceBridgeGlue
{
	bool LoadBytes(const FString& Path, std::string& Out)
	{
		TArray<uint8> Bytes;
		if (!FFileHelper::LoadFileToArray(Bytes, *Path))
		{
			return false;
		}
		Out.assign(reinterpret_cast<const char*>(Bytes.GetData()), Bytes.Num());
		return true;
	}

	bool MakeConfig(const FFaceBridgeConnection& C, const FString& ClientName, facebridge::ClientConfig& Out, FString& OutError)
	{
		Out.control = ToStd(C.Control);
		Out.data = ToStd(C.Data);
		Out.video = ToStd(C.Video);
		Out.clientName = ToStd(ClientName);
		Out.frameQueue = 0;  // engines sample the jitter buffer; nobody drains a queue
		Out.log = [](facebridge::LogLevel Level, const std::string& Message)
		{
			const FString M = ToF(Message);
			switch (Level)
			{
			case facebridge::LogLevel::Error: UE_LOG(LogFaceBridge, Error, TEXT("%s"), *M); break;
			case facebridge::LogLevel::Warning: UE_LOG(LogFaceBridge, Warning, TEXT("%s"), *M); break;
			case facebridge::LogLevel::Info: UE_LOG(LogFaceBridge, Log, TEXT("%s"), *M); break;
			default: UE_LOG(LogFaceBridge, Verbose, TEXT("%s"), *M); break;
			}
		};
		facebridge::CurveKeys Keys;
		if (!C.CurveKeysFolder.Path.IsEmpty())
		{
			std::string Public, Secret, Error;
			const FString Folder = C.CurveKeysFolder.Path;
			if (!facebridge::readCurveCertificate(ToStd(FPaths::Combine(Folder, TEXT("server.key"))), Keys.serverPublicKey, Secret, &Error) ||
				!facebridge::readCurveCertificate(ToStd(FPaths::Combine(Folder, TEXT("clients"), TEXT("client.key_secret"))),
				                                  Keys.clientPublicKey, Keys.clientSecretKey, &Error))
			{
				OutError = FString::Printf(TEXT("CURVE keys: %s (make them with `facebridge keys --out DIR`)"), *ToF(Error));
				return false;
			}
		}
		if (!C.ServerPublicKey.IsEmpty()) Keys.serverPublicKey = ToStd(C.ServerPublicKey);
		if (!C.ClientPublicKey.IsEmpty()) Keys.clientPublicKey = ToStd(C.ClientPublicKey);
		if (!C.ClientSecretKey.IsEmpty()) Keys.clientSecretKey = ToStd(C.ClientSecretKey);
		for (const std::string* K : {&Keys.serverPublicKey, &Keys.clientPublicKey, &Keys.clientSecretKey})
		{
			if (!K->empty() && K->size() != 40)
			{
				OutError = TEXT("CURVE keys are 40 characters of Z85 text (the quoted values in the .key files)");
				return false;
			}
		}
		Out.curve = Keys;
		return true;
	}

	const TArray<FName>& LiveLinkCurveNames()
	{
		static const TArray<FName> Names = []
		{
			TArray<FName> N;
			for (int32 I = 0; I < facebridge::kLiveLinkCurves; ++I)
			{
				N.Add(FName(*ToF(facebridge::liveLinkCurveName(I))));
			}
			return N;
		}();
		return Names;
	}
}
