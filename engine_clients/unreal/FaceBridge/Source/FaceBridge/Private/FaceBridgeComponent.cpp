#include "FaceBridgeComponent.h"

#include "Components/PrimitiveComponent.h"
#include "Components/SkeletalMeshComponent.h"
#include "Engine/Texture2D.h"
#include "FaceBridgeGlue.h"
#include "GameFramework/Actor.h"
#include "Materials/MaterialInstanceDynamic.h"
#include "RHI.h"

using namespace FaceBridgeGlue;

UFaceBridgeComponent::UFaceBridgeComponent()
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.TickGroup = TG_PrePhysics;  // before the mesh's animation update
	Weights.Init(0.0f, facebridge::kBlendshapes);
}

UFaceBridgeComponent::~UFaceBridgeComponent() = default;

void UFaceBridgeComponent::BeginPlay()
{
	Super::BeginPlay();
	MorphNames.Reset();
	for (int32 I = 0; I < facebridge::kBlendshapes; ++I)
	{
		const FName Arkit(UTF8_TO_TCHAR(facebridge::kArkitNames[I]));
		const FName* Override = MorphTargetNames.Find(Arkit);
		MorphNames.Add(Override ? *Override : Arkit);  // FNames compare case-insensitively: JawOpen == jawOpen
	}
	facebridge::ClientConfig Config;
	FString Error;
	if (!MakeConfig(Connection, TEXT("facebridge-unreal-component/0.1"), Config, Error))
	{
		Problem = Error;
		UE_LOG(LogFaceBridge, Error, TEXT("%s: %s"), *GetNameSafe(GetOwner()), *Error);
		return;
	}
	Core = MakeShared<facebridge::Client>(MoveTemp(Config));
	Core->start();
	if (!FollowAvatar.IsEmpty())
	{
		Avatar = FollowAvatar;
		Core->subscribe(ToStd(Avatar), bRenderVideo);
		return;
	}
	std::string Image;
	if (AvatarImage.FilePath.IsEmpty() || !LoadBytes(AvatarImage.FilePath, Image))
	{
		Problem = TEXT("set Avatar Image (a face picture) or Follow Avatar");
		UE_LOG(LogFaceBridge, Error, TEXT("%s: %s"), *GetNameSafe(GetOwner()), *Problem);
		return;
	}
	std::optional<std::string> Name, Render;
	std::optional<int> Size;
	if (!AvatarName.IsEmpty()) Name = ToStd(AvatarName);
	if (bRenderVideo)
	{
		Render = ToStd(Renderer);
		Size = VideoSize;
	}
	CreateId = Core->createAvatar(MoveTemp(Image), Name, Render, Size);
}

void UFaceBridgeComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	if (Core)
	{
		if (!Avatar.IsEmpty() && FollowAvatar.IsEmpty())
		{
			Core->stopAvatar(ToStd(Avatar), true);  // the daemon holds at most 32 avatars
		}
		Core->stop();
		Core.Reset();
	}
	Super::EndPlay(EndPlayReason);
}

void UFaceBridgeComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (!Core) return;
	if (CreateId != 0)
	{
		facebridge::Reply Reply;
		if (Core->pollReply(CreateId, Reply))
		{
			CreateId = 0;
			if (Reply.type == "avatar_created")
			{
				Avatar = ToF(Reply.msg.find("avatar")->asString());
				Core->subscribe(ToStd(Avatar), bRenderVideo);
			}
			else
			{
				Problem = FString::Printf(TEXT("create_avatar failed: %s: %s"), *ToF(Reply.errorCode()), *ToF(Reply.errorMessage()));
				UE_LOG(LogFaceBridge, Error, TEXT("%s: %s"), *GetNameSafe(GetOwner()), *Problem);
			}
		}
	}
	if (Avatar.IsEmpty()) return;
	PollSpeechReplies();
	ApplyFrame();
	if (bRenderVideo) UpdateVideo();
}

void UFaceBridgeComponent::ApplyFrame()
{
	facebridge::MotionFrame Frame;
	const std::string A = ToStd(Avatar);
	const double Now = FPlatformTime::Seconds();
	const bool bAudio = AudioSetAt >= 0.0 && Now - AudioSetAt < 0.5;
	const bool bGot = bAudio ? Core->sampleFrame(A, AudioUtterance, AudioSeconds + (Now - AudioSetAt), Frame)
	                         : Core->sampleFrameAuto(A, Frame, ExtraDelaySeconds);
	if (!bGot) return;
	FireListeningEvents(Frame);
	for (int32 I = 0; I < facebridge::kBlendshapes; ++I) Weights[I] = Frame.blendshapes[I];
	for (int32 I = 0; I < 6; ++I) HeadPose[I] = Frame.headPose[I];
	USkeletalMeshComponent* Mesh = Cast<USkeletalMeshComponent>(TargetMesh.GetComponent(GetOwner()));
	if (!Mesh && GetOwner()) Mesh = GetOwner()->FindComponentByClass<USkeletalMeshComponent>();
	if (!Mesh) return;
	for (int32 I = 0; I < facebridge::kBlendshapes; ++I)
	{
		Mesh->SetMorphTarget(MorphNames[I], FMath::Clamp(Weights[I], 0.0f, 1.0f) * WeightScale, false);
	}
}

void UFaceBridgeComponent::FireListeningEvents(const facebridge::MotionFrame& Frame)
{
	// Each event once: a new utterance's first shown frame fires its own events; later, every
	// frame the face moved past since the last tick (skipped ones included) fires its events.
	// The same frame again, or a step back (an audio position that jittered), fires nothing.
	std::vector<facebridge::Event> Events;
	if (Frame.utterance != EventUtterance)
	{
		if (Frame.events) Events = *Frame.events;
	}
	else if (Frame.pts > EventPts)
	{
		Core->eventsBetween(ToStd(Avatar), Frame.utterance, EventPts, Frame.pts, Events);
	}
	else
	{
		return;
	}
	EventUtterance = Frame.utterance;
	EventPts = Frame.pts;
	const FString Who = Avatar;  // a handler may stop this component
	for (const facebridge::Event& Reaction : Events)
	{
		OnListeningEvent.Broadcast(Who, FName(UTF8_TO_TCHAR(Reaction.type.c_str())), static_cast<float>(Reaction.t),
		                           static_cast<float>(Reaction.durationS), static_cast<float>(Reaction.strength));
	}
}

void UFaceBridgeComponent::PollSpeechReplies()
{
	for (int32 I = SpeechIds.Num() - 1; I >= 0; --I)
	{
		facebridge::Reply Reply;
		if (!Core->pollReply(SpeechIds[I], Reply)) continue;
		SpeechIds.RemoveAt(I);
		if (Reply.isError())
		{
			OnSpeechReply.Broadcast(false, 0, 0.0f, ToF(Reply.errorCode() + ": " + Reply.errorMessage()));
			continue;
		}
		const facebridge::Value* Utterance = Reply.msg.find("utterance");
		const facebridge::Value* Duration = Reply.msg.find("duration_s");
		// A clip's ok, or a stream's first chunk's: announce each utterance once.
		if (Utterance && Utterance->asInt() != LastAnnounced)
		{
			LastAnnounced = Utterance->asInt();
			OnSpeechReply.Broadcast(true, LastAnnounced, Duration ? static_cast<float>(Duration->asDouble()) : 0.0f, FString());
		}
	}
}

void UFaceBridgeComponent::UpdateVideo()
{
	facebridge::VideoFrame Frame;
	if (!Core->takeVideo(ToStd(Avatar), Frame)) return;
	const int32 W = Frame.width, H = Frame.height;
	if (!VideoTexture || VideoTexture->GetSizeX() != W || VideoTexture->GetSizeY() != H)
	{
		VideoTexture = UTexture2D::CreateTransient(W, H, PF_B8G8R8A8);
		VideoTexture->SRGB = true;
		VideoTexture->NeverStream = true;
		VideoTexture->UpdateResource();
		if (UPrimitiveComponent* Surface = Cast<UPrimitiveComponent>(VideoSurface.GetComponent(GetOwner())))
		{
			VideoMaterial = Surface->CreateAndSetMaterialInstanceDynamic(0);
			if (VideoMaterial) VideoMaterial->SetTextureParameterValue(VideoParameter, VideoTexture.Get());
		}
	}
	// rgb24 -> BGRA8 on this thread; the render thread copies it into the texture, then frees it.
	uint8* Bgra = static_cast<uint8*>(FMemory::Malloc(static_cast<SIZE_T>(W) * H * 4));
	facebridge::rgb24ToBgra8(Frame.pixels.data(), W, H, Bgra);
	FUpdateTextureRegion2D* Region = new FUpdateTextureRegion2D(0, 0, 0, 0, W, H);
	VideoTexture->UpdateTextureRegions(0, 1, Region, static_cast<uint32>(W * 4), 4, Bgra,
	                                   [](uint8* Data, const FUpdateTextureRegion2D* Regions)
	                                   {
		                                   FMemory::Free(Data);
		                                   delete Regions;
	                                   });
}

int64 UFaceBridgeComponent::SpeakFile(const FString& AudioFile, const FString& Text, const FString& Emotion)
{
	std::string Audio;
	if (!Core || Avatar.IsEmpty() || !LoadBytes(AudioFile, Audio)) return 0;
	std::optional<std::string> T, E;
	if (!Text.IsEmpty()) T = ToStd(Text);
	if (!Emotion.IsEmpty()) E = ToStd(Emotion);
	const uint64 Id = Core->speakClip(ToStd(Avatar), MoveTemp(Audio), T, E);
	SpeechIds.Add(Id);
	return static_cast<int64>(Id);
}

int64 UFaceBridgeComponent::SpeakPcm(const TArray<float>& Samples, int32 SampleRate, bool bFinal)
{
	if (!Core || Avatar.IsEmpty()) return 0;
	const uint64 Id = Core->speakChunk(ToStd(Avatar), Samples.GetData(), static_cast<size_t>(Samples.Num()), SampleRate, bFinal);
	SpeechIds.Add(Id);
	return static_cast<int64>(Id);
}

void UFaceBridgeComponent::SetEmotion(const FString& Emotion)
{
	if (Core && !Avatar.IsEmpty()) Core->setEmotion(ToStd(Avatar), ToStd(Emotion));
}

void UFaceBridgeComponent::StopSpeaking()
{
	if (Core && !Avatar.IsEmpty()) Core->stopAvatar(ToStd(Avatar), false);
}

void UFaceBridgeComponent::SetAudioPosition(int64 Utterance, float Seconds)
{
	AudioUtterance = Utterance;
	AudioSeconds = Seconds;
	AudioSetAt = FPlatformTime::Seconds();
}

FString UFaceBridgeComponent::GetStatus() const
{
	if (!Problem.IsEmpty()) return Problem;
	if (!Core) return TEXT("not started");
	const facebridge::ConnectionState State = Core->state();
	if (State == facebridge::ConnectionState::Connected)
	{
		return Avatar.IsEmpty() ? FString(TEXT("connected; creating the avatar")) : FString::Printf(TEXT("active: avatar %s"), *Avatar);
	}
	const FString Last = ToF(Core->lastError());
	return FString(UTF8_TO_TCHAR(facebridge::toString(State))) + (Last.IsEmpty() ? FString() : FString(TEXT(": ")) + Last);
}

float UFaceBridgeComponent::GetCurve(FName ArkitName) const
{
	const int Index = facebridge::arkitIndex(ToStd(ArkitName.ToString()));
	return Index >= 0 ? Weights[Index] : 0.0f;
}

FRotator UFaceBridgeComponent::GetHeadRotation() const
{
	return FRotator(HeadPose[0], HeadPose[1], HeadPose[2]);
}
