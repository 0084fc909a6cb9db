// A Live Link source fed by a facebridge daemon: one subject (ULiveLinkBasicRole) whose
// properties are the 52 ARKit curves as Unreal's ARKit support names them (EyeBlinkLeft ...
// TongueOut) plus HeadYaw, HeadPitch, HeadRoll and the eye angles (degrees / 180), exactly the
// values the Live Link Face app sends. A MetaHuman's face Animation Blueprint reads them by
// name, unchanged. Mirrors Epic's Live Link source samples; the protocol lives in FaceBridgeCore.
#pragma once

#include "CoreMinimal.h"
#include "FaceBridgeTypes.h"
#include "ILiveLinkSource.h"
#include "Templates/SharedPointer.h"

class ILiveLinkClient;
class UFaceBridgeLiveLinkSourceSettings;
namespace facebridge { class Client; }

class FACEBRIDGE_API FFaceBridgeLiveLinkSource : public ILiveLinkSource
{
public:
	explicit FFaceBridgeLiveLinkSource(const FString& ConnectionString = FString());
	virtual ~FFaceBridgeLiveLinkSource();

	// ILiveLinkSource
	virtual void ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid) override;
	virtual void InitializeSettings(ULiveLinkSourceSettings* Settings) override;
	virtual void Update() override;
	virtual bool IsSourceStillValid() const override;
	virtual bool RequestSourceShutdown() override;
	virtual FText GetSourceType() const override;
	virtual FText GetSourceMachineName() const override;
	virtual FText GetSourceStatus() const override;
	virtual TSubclassOf<ULiveLinkSourceSettings> GetSettingsClass() const override;
	virtual void OnSettingsChanged(ULiveLinkSourceSettings* Settings, const FPropertyChangedEvent& PropertyChangedEvent) override;

	/** The source publishing `Subject`, or null (game thread). */
	static FFaceBridgeLiveLinkSource* FindBySubject(FName Subject);
	/** Make its avatar speak: a whole clip file (WAV, FLAC, OGG) or a chunk of float PCM. */
	bool SpeakFile(const FString& Path, const FString& Text, const FString& Emotion);
	bool SpeakPcm(const TArray<float>& Samples, int32 SampleRate, bool bFinal);
	bool SetEmotion(const FString& Emotion);
	FString GetAvatar() const { return Avatar; }

private:
	void Connect();
	void Disconnect();
	void PushStaticData();

	ILiveLinkClient* LiveLinkClient = nullptr;
	FGuid SourceGuid;
	UFaceBridgeLiveLinkSourceSettings* Settings = nullptr;  // owned by the Live Link client

	// From the connection string, until the settings object exists.
	FFaceBridgeConnection InitialConnection;
	FString InitialImage, InitialAvatarName, InitialFollow;
	FName InitialSubject;

	TSharedPtr<facebridge::Client> Core;  // shared: the deleter is bound in the .cpp (facebridge::Client is incomplete here)
	FName Subject;
	FString Avatar;
	uint64 CreateId = 0;
	int64 LastUtterance = -1;
	int64 LastSeq = -1;
	FString Problem;  // a setup error to show as the status
};
