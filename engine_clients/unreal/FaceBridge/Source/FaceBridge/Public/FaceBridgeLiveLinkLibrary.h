// Blueprint access to FaceBridge Live Link sources: make the avatar behind a subject speak.
#pragma once

#include "CoreMinimal.h"
#include "Kismet/BlueprintFunctionLibrary.h"
#include "FaceBridgeLiveLinkLibrary.generated.h"

UCLASS()
class FACEBRIDGE_API UFaceBridgeLiveLinkLibrary : public UBlueprintFunctionLibrary
{
	GENERATED_BODY()

public:
	/** A whole clip file (WAV, FLAC, OGG) on the avatar of the FaceBridge source publishing Subject. */
	UFUNCTION(BlueprintCallable, Category = "FaceBridge|Live Link")
	static bool SpeakOnSubject(FName Subject, const FString& AudioFile, const FString& Text, const FString& Emotion);

	/** A chunk of mono float PCM; bFinal on the utterance's last chunk. */
	UFUNCTION(BlueprintCallable, Category = "FaceBridge|Live Link")
	static bool SpeakPcmOnSubject(FName Subject, const TArray<float>& Samples, int32 SampleRate, bool bFinal);

	UFUNCTION(BlueprintCallable, Category = "FaceBridge|Live Link")
	static bool SetEmotionOnSubject(FName Subject, const FString& Emotion);

	/** The avatar id behind a subject ("" when none), for other clients that want to drive it. */
	UFUNCTION(BlueprintPure, Category = "FaceBridge|Live Link")
	static FString GetSubjectAvatar(FName Subject);
};
