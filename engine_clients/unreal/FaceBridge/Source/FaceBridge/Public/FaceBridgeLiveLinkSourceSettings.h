// Settings of a FaceBridge Live Link source (shown in the Live Link panel when the source is
// selected; editing them reconnects).
#pragma once

#include "CoreMinimal.h"
#include "FaceBridgeTypes.h"
#include "LiveLinkSourceSettings.h"
#include "FaceBridgeLiveLinkSourceSettings.generated.h"

UCLASS()
class FACEBRIDGE_API UFaceBridgeLiveLinkSourceSettings : public ULiveLinkSourceSettings
{
	GENERATED_BODY()

public:
	UPROPERTY(EditAnywhere, Category = "FaceBridge")
	FFaceBridgeConnection Connection;

	/** The Live Link subject name (a MetaHuman's "LLink Face Subj"). */
	UPROPERTY(EditAnywhere, Category = "FaceBridge")
	FName SubjectName = TEXT("FaceBridge");

	/** A face image: the source creates its own avatar from it. */
	UPROPERTY(EditAnywhere, Category = "FaceBridge|Avatar", meta = (FilePathFilter = "Image files (*.png;*.jpg;*.jpeg;*.webp)|*.png;*.jpg;*.jpeg;*.webp"))
	FFilePath AvatarImage;

	/** The avatar id to ask for (empty: the daemon assigns one, a1, a2...). Other clients
	 *  (a game's own code, a TTS pipeline) can then make it speak by this id. */
	UPROPERTY(EditAnywhere, Category = "FaceBridge|Avatar")
	FString AvatarName;

	/** Or follow an avatar that already exists (another client's, or `facebridge capture
	 *  --serve`'s "performer"); the image is then not used. */
	UPROPERTY(EditAnywhere, Category = "FaceBridge|Avatar")
	FString FollowAvatar;

	/** Added to the estimated playback clock (seconds): raise it when the engine's audio
	 *  output lags the face. */
	UPROPERTY(EditAnywhere, Category = "FaceBridge|Timing", meta = (ClampMin = "0.0", ClampMax = "2.0"))
	float ExtraDelaySeconds = 0.0f;
};
