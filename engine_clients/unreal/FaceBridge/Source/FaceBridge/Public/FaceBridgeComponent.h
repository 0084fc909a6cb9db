// UFaceBridgeComponent: a facebridge avatar on any skeletal mesh. Its 52 ARKit weights drive
// morph targets of the same names (override names in MorphTargetNames), and, with
// bRenderVideo, the daemon's rendered frames land in a transient UTexture2D (VideoTexture),
// optionally set on a material of VideoSurface (a plane) as the texture parameter
// VideoParameter.
#pragma once

#include "Components/ActorComponent.h"
#include "CoreMinimal.h"
#include "FaceBridgeTypes.h"
#include "Templates/SharedPointer.h"
#include "FaceBridgeComponent.generated.h"

class UMaterialInstanceDynamic;
class USkeletalMeshComponent;
class UTexture2D;
namespace facebridge { class Client; struct MotionFrame; }

/** A speak request was answered. bOk: the utterance's motion is ready (a clip: start playing
 *  its audio now, pts 0 = its first sample); else Error says why ("code: message"). */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_FourParams(FFaceBridgeSpeechReply, bool, bOk, int64, Utterance, float, DurationSeconds,
                                               const FString&, Error);

/** A listening reaction starts (frames of a `listen` turn, mode "listening"): Type is nod,
 *  brow_raise, smile, concern, frown, blink, gaze_shift or inhale (the last before speech after
 *  listening); Time is its start on the utterance's pts clock (seconds), DurationSeconds how long
 *  it lasts, Strength how strong (about 0..1). Fired once per event, on the game thread, when
 *  the face reaches the frame that carries it. */
DECLARE_DYNAMIC_MULTICAST_DELEGATE_FiveParams(FFaceBridgeListeningEvent, const FString&, Avatar, FName, Type, float, Time,
                                              float, DurationSeconds, float, Strength);

UCLASS(ClassGroup = (FaceBridge), meta = (BlueprintSpawnableComponent))
class FACEBRIDGE_API UFaceBridgeComponent : public UActorComponent
{
	GENERATED_BODY()

public:
	UFaceBridgeComponent();
	virtual ~UFaceBridgeComponent();

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge")
	FFaceBridgeConnection Connection;

	/** A face image: the component creates its avatar from it at BeginPlay. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Avatar")
	FFilePath AvatarImage;

	/** The avatar id to ask for (empty: assigned by the daemon). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Avatar")
	FString AvatarName;

	/** Or follow an avatar that exists already (the image is then not used). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Avatar")
	FString FollowAvatar;

	/** Ask the daemon for rendered frames too. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Video")
	bool bRenderVideo = false;

	/** "warp" (the fast renderer) or "gan" (the trained generator). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Video")
	FString Renderer = TEXT("warp");

	/** The video frames' longest side (64..1024; never larger than the image). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Video", meta = (ClampMin = "64", ClampMax = "1024"))
	int32 VideoSize = 512;

	/** A mesh (e.g. a plane) whose material slot 0 gets the video as texture parameter VideoParameter. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Video", meta = (UseComponentPicker, AllowedClasses = "/Script/Engine.PrimitiveComponent"))
	FComponentReference VideoSurface;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Video")
	FName VideoParameter = TEXT("FaceVideo");

	/** The latest rendered frame (BGRA8, rows top to bottom). */
	UPROPERTY(VisibleInstanceOnly, BlueprintReadOnly, Transient, Category = "FaceBridge|Video")
	TObjectPtr<UTexture2D> VideoTexture;

	/** The mesh whose morph targets follow the face; default: the owner's first skeletal mesh. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Mesh", meta = (UseComponentPicker, AllowedClasses = "/Script/Engine.SkeletalMeshComponent"))
	FComponentReference TargetMesh;

	/** ARKit name (eyeBlinkLeft, jawOpen, ...) -> this mesh's morph target, where they differ. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Mesh")
	TMap<FName, FName> MorphTargetNames;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Mesh", meta = (ClampMin = "0.0", ClampMax = "2.0"))
	float WeightScale = 1.0f;

	/** Added to the estimated playback clock when no audio position is given (seconds). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|Timing", meta = (ClampMin = "0.0", ClampMax = "2.0"))
	float ExtraDelaySeconds = 0.0f;

	UPROPERTY(BlueprintAssignable, Category = "FaceBridge")
	FFaceBridgeSpeechReply OnSpeechReply;

	/** The avatar's listening reactions (nod, brow_raise, ...), each once as the face shows it:
	 *  for a sound, a gesture or a camera cut of your own. The face already moves by itself. */
	UPROPERTY(BlueprintAssignable, Category = "FaceBridge")
	FFaceBridgeListeningEvent OnListeningEvent;

	/** Speak a whole clip file (WAV, FLAC, OGG). Returns the request id (0 when not ready). */
	UFUNCTION(BlueprintCallable, Category = "FaceBridge")
	int64 SpeakFile(const FString& AudioFile, const FString& Text, const FString& Emotion);

	/** Speak a chunk of mono float PCM (e.g. from a TTS); bFinal on the utterance's last chunk. */
	UFUNCTION(BlueprintCallable, Category = "FaceBridge")
	int64 SpeakPcm(const TArray<float>& Samples, int32 SampleRate, bool bFinal);

	/** LABEL[:INTENSITY]: anger, disgust, fear, joy, neutral, sadness, surprise. */
	UFUNCTION(BlueprintCallable, Category = "FaceBridge")
	void SetEmotion(const FString& Emotion);

	UFUNCTION(BlueprintCallable, Category = "FaceBridge")
	void StopSpeaking();

	/** When the game plays the utterance's audio itself: its position, so the face follows the
	 *  audio clock exactly (call every tick while it plays; stops applying 0.5 s after the last call). */
	UFUNCTION(BlueprintCallable, Category = "FaceBridge")
	void SetAudioPosition(int64 Utterance, float Seconds);

	UFUNCTION(BlueprintPure, Category = "FaceBridge")
	FString GetStatus() const;

	UFUNCTION(BlueprintPure, Category = "FaceBridge")
	FString GetAvatar() const { return Avatar; }

	/** The current weight of an ARKit curve (e.g. jawOpen), 0 when unknown. */
	UFUNCTION(BlueprintPure, Category = "FaceBridge")
	float GetCurve(FName ArkitName) const;

	/** The current head rotation (pitch, yaw, roll in degrees, as the daemon sends them). */
	UFUNCTION(BlueprintPure, Category = "FaceBridge")
	FRotator GetHeadRotation() const;

	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;
	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

private:
	void ApplyFrame();
	void FireListeningEvents(const facebridge::MotionFrame& Frame);
	void PollSpeechReplies();
	void UpdateVideo();

	TSharedPtr<facebridge::Client> Core;  // shared: the deleter is bound in the .cpp (facebridge::Client is incomplete here)
	FString Avatar;
	uint64 CreateId = 0;
	TArray<uint64> SpeechIds;  // speak requests not answered yet
	int64 LastAnnounced = -1;  // the utterance OnSpeechReply last announced
	FString Problem;
	TArray<float> Weights;  // 52, canonical ARKit order
	float HeadPose[6] = {0, 0, 0, 0, 0, 0};
	TArray<FName> MorphNames;  // per ARKit index
	int64 AudioUtterance = -1;
	double AudioSeconds = 0.0;
	double AudioSetAt = -1.0;
	int64 EventUtterance = -1;  // the utterance and pts of the frame OnListeningEvent reached last
	double EventPts = 0.0;
	UPROPERTY(Transient)
	TObjectPtr<UMaterialInstanceDynamic> VideoMaterial;
};
