#include "FaceBridgeLiveLinkSource.h"

#include "FaceBridgeGlue.h"
#include "FaceBridgeLiveLinkSourceSettings.h"
#include "ILiveLinkClient.h"
#include "LiveLinkTypes.h"
#include "Roles/LiveLinkBasicRole.h"
#include "UObject/UnrealType.h"

#define LOCTEXT_NAMESPACE "FaceBridge"

using namespace FaceBridgeGlue;

namespace
{
	TArray<FFaceBridgeLiveLinkSource*> GSources;  // game thread only
}

FFaceBridgeLiveLinkSource::FFaceBridgeLiveLinkSource(const FString& ConnectionString)
{
	// "Key=Value;Key=Value" (what a preset or a script may pass); all optional.
	TArray<FString> Pairs;
	ConnectionString.ParseIntoArray(Pairs, TEXT(";"));
	for (const FString& Pair : Pairs)
	{
		FString Key, Value;
		if (!Pair.Split(TEXT("="), &Key, &Value)) continue;
		Key.TrimStartAndEndInline();
		Value.TrimStartAndEndInline();
		if (Key == TEXT("Control")) InitialConnection.Control = Value;
		else if (Key == TEXT("Data")) InitialConnection.Data = Value;
		else if (Key == TEXT("Video")) InitialConnection.Video = Value;
		else if (Key == TEXT("Keys")) InitialConnection.CurveKeysFolder.Path = Value;
		else if (Key == TEXT("Image")) InitialImage = Value;
		else if (Key == TEXT("Avatar")) InitialAvatarName = Value;
		else if (Key == TEXT("Follow")) InitialFollow = Value;
		else if (Key == TEXT("Subject")) InitialSubject = FName(*Value);
	}
	GSources.Add(this);
}

FFaceBridgeLiveLinkSource::~FFaceBridgeLiveLinkSource()
{
	Disconnect();
	GSources.Remove(this);
}

void FFaceBridgeLiveLinkSource::ReceiveClient(ILiveLinkClient* InClient, FGuid InSourceGuid)
{
	LiveLinkClient = InClient;
	SourceGuid = InSourceGuid;
	if (Settings) Connect();
}

void FFaceBridgeLiveLinkSource::InitializeSettings(ULiveLinkSourceSettings* InSettings)
{
	Settings = Cast<UFaceBridgeLiveLinkSourceSettings>(InSettings);
	if (!Settings) return;
	// A connection string given to the factory overrides the defaults.
	if (!InitialConnection.Control.Equals(FFaceBridgeConnection().Control) || !InitialConnection.Data.Equals(FFaceBridgeConnection().Data) ||
		!InitialConnection.Video.IsEmpty() || !InitialConnection.CurveKeysFolder.Path.IsEmpty())
	{
		Settings->Connection = InitialConnection;
	}
	if (!InitialImage.IsEmpty()) Settings->AvatarImage.FilePath = InitialImage;
	if (!InitialAvatarName.IsEmpty()) Settings->AvatarName = InitialAvatarName;
	if (!InitialFollow.IsEmpty()) Settings->FollowAvatar = InitialFollow;
	if (!InitialSubject.IsNone()) Settings->SubjectName = InitialSubject;
	if (LiveLinkClient) Connect();
}

void FFaceBridgeLiveLinkSource::OnSettingsChanged(ULiveLinkSourceSettings* InSettings, const FPropertyChangedEvent& PropertyChangedEvent)
{
	ILiveLinkSource::OnSettingsChanged(InSettings, PropertyChangedEvent);
	const FProperty* Member = PropertyChangedEvent.MemberProperty;
	if (Member && Member->GetOwnerClass() == UFaceBridgeLiveLinkSourceSettings::StaticClass())
	{
		Connect();  // endpoints, keys, avatar or subject changed: start over
	}
}

void FFaceBridgeLiveLinkSource::Connect()
{
	Disconnect();
	Problem.Reset();
	if (!Settings || !LiveLinkClient) return;
	facebridge::ClientConfig Config;
	FString Error;
	if (!MakeConfig(Settings->Connection, TEXT("facebridge-unreal-livelink/0.1"), Config, Error))
	{
		Problem = Error;
		UE_LOG(LogFaceBridge, Error, TEXT("%s"), *Error);
		return;
	}
	Subject = Settings->SubjectName.IsNone() ? FName(TEXT("FaceBridge")) : Settings->SubjectName;
	Core = MakeShared<facebridge::Client>(MoveTemp(Config));
	Core->start();
	PushStaticData();
	if (!Settings->FollowAvatar.IsEmpty())
	{
		Avatar = Settings->FollowAvatar;
		Core->subscribe(ToStd(Avatar));
		return;
	}
	std::string Image;
	if (Settings->AvatarImage.FilePath.IsEmpty() || !LoadBytes(Settings->AvatarImage.FilePath, Image))
	{
		Problem = TEXT("set Avatar Image (a face picture) or Follow Avatar in the source's settings");
		return;
	}
	std::optional<std::string> Name;
	if (!Settings->AvatarName.IsEmpty()) Name = ToStd(Settings->AvatarName);
	CreateId = Core->createAvatar(MoveTemp(Image), Name);
}

void FFaceBridgeLiveLinkSource::Disconnect()
{
	if (Core)
	{
		if (!Avatar.IsEmpty() && Settings && Settings->FollowAvatar.IsEmpty())
		{
			Core->stopAvatar(ToStd(Avatar), true);  // best effort: the daemon holds at most 32 avatars
		}
		Core->stop();
		Core.Reset();
	}
	if (LiveLinkClient && !Subject.IsNone())
	{
		LiveLinkClient->RemoveSubject_AnyThread(FLiveLinkSubjectKey(SourceGuid, Subject));
	}
	Avatar.Reset();
	CreateId = 0;
	LastUtterance = LastSeq = -1;
}

void FFaceBridgeLiveLinkSource::PushStaticData()
{
	FLiveLinkStaticDataStruct StaticData(FLiveLinkBaseStaticData::StaticStruct());
	StaticData.Cast<FLiveLinkBaseStaticData>()->PropertyNames = LiveLinkCurveNames();
	LiveLinkClient->PushSubjectStaticData_AnyThread(FLiveLinkSubjectKey(SourceGuid, Subject), ULiveLinkBasicRole::StaticClass(),
	                                               MoveTemp(StaticData));
}

void FFaceBridgeLiveLinkSource::Update()
{
	if (!Core || !LiveLinkClient) return;
	if (CreateId != 0)
	{
		facebridge::Reply Reply;
		if (Core->pollReply(CreateId, Reply))
		{
			CreateId = 0;
			if (Reply.type == "avatar_created")
			{
				Avatar = ToF(Reply.msg.find("avatar")->asString());
				Core->subscribe(ToStd(Avatar));
				UE_LOG(LogFaceBridge, Log, TEXT("Live Link subject %s follows avatar %s"), *Subject.ToString(), *Avatar);
			}
			else
			{
				Problem = FString::Printf(TEXT("create_avatar failed: %s: %s"), *ToF(Reply.errorCode()), *ToF(Reply.errorMessage()));
				UE_LOG(LogFaceBridge, Error, TEXT("%s"), *Problem);
			}
		}
	}
	if (Avatar.IsEmpty()) return;
	facebridge::MotionFrame Frame;
	if (!Core->sampleFrameAuto(ToStd(Avatar), Frame, Settings ? Settings->ExtraDelaySeconds : 0.0))
	{
		return;
	}
	if (Frame.utterance == LastUtterance && Frame.seq == LastSeq) return;  // nothing new is due
	LastUtterance = Frame.utterance;
	LastSeq = Frame.seq;
	float Values[facebridge::kLiveLinkCurves];
	facebridge::liveLinkValues(Frame.blendshapes.data(), Frame.headPose.data(), Values);
	FLiveLinkFrameDataStruct FrameData(FLiveLinkBaseFrameData::StaticStruct());
	FLiveLinkBaseFrameData& Data = *FrameData.Cast<FLiveLinkBaseFrameData>();
	Data.WorldTime = FLiveLinkWorldTime(FPlatformTime::Seconds());
	Data.MetaData.SceneTime = FQualifiedFrameTime(FFrameTime(FFrameNumber(static_cast<int32>(Frame.seq))), FFrameRate(30, 1));
	Data.PropertyValues.Append(Values, facebridge::kLiveLinkCurves);
	LiveLinkClient->PushSubjectFrameData_AnyThread(FLiveLinkSubjectKey(SourceGuid, Subject), MoveTemp(FrameData));
}

bool FFaceBridgeLiveLinkSource::IsSourceStillValid() const
{
	return Core && Core->state() != facebridge::ConnectionState::Failed;
}

bool FFaceBridgeLiveLinkSource::RequestSourceShutdown()
{
	Disconnect();
	return true;
}

FText FFaceBridgeLiveLinkSource::GetSourceType() const
{
	return LOCTEXT("SourceType", "FaceBridge");
}

FText FFaceBridgeLiveLinkSource::GetSourceMachineName() const
{
	return FText::FromString(Settings ? Settings->Connection.Control : InitialConnection.Control);
}

FText FFaceBridgeLiveLinkSource::GetSourceStatus() const
{
	if (!Problem.IsEmpty()) return FText::FromString(Problem);
	if (!Core) return LOCTEXT("NotStarted", "Not started");
	const facebridge::ConnectionState State = Core->state();
	if (State == facebridge::ConnectionState::Failed) return FText::FromString(ToF(Core->lastError()));
	if (State != facebridge::ConnectionState::Connected)
	{
		const FString Last = ToF(Core->lastError());
		return FText::FromString(FString(UTF8_TO_TCHAR(facebridge::toString(State))) + (Last.IsEmpty() ? FString() : FString(TEXT(": ")) + Last));
	}
	return FText::FromString(Avatar.IsEmpty() ? FString(TEXT("Connected; creating the avatar")) : FString::Printf(TEXT("Active: avatar %s"), *Avatar));
}

TSubclassOf<ULiveLinkSourceSettings> FFaceBridgeLiveLinkSource::GetSettingsClass() const
{
	return UFaceBridgeLiveLinkSourceSettings::StaticClass();
}

FFaceBridgeLiveLinkSource* FFaceBridgeLiveLinkSource::FindBySubject(FName InSubject)
{
	for (FFaceBridgeLiveLinkSource* S : GSources)
	{
		if (S->Subject == InSubject) return S;
	}
	return nullptr;
}

bool FFaceBridgeLiveLinkSource::SpeakFile(const FString& Path, const FString& Text, const FString& Emotion)
{
	std::string Audio;
	if (!Core || Avatar.IsEmpty() || !LoadBytes(Path, Audio)) return false;
	std::optional<std::string> T, E;
	if (!Text.IsEmpty()) T = ToStd(Text);
	if (!Emotion.IsEmpty()) E = ToStd(Emotion);
	Core->speakClip(ToStd(Avatar), MoveTemp(Audio), T, E);
	return true;
}

bool FFaceBridgeLiveLinkSource::SpeakPcm(const TArray<float>& Samples, int32 SampleRate, bool bFinal)
{
	if (!Core || Avatar.IsEmpty()) return false;
	Core->speakChunk(ToStd(Avatar), Samples.GetData(), static_cast<size_t>(Samples.Num()), SampleRate, bFinal);
	return true;
}

bool FFaceBridgeLiveLinkSource::SetEmotion(const FString& Emotion)
{
	if (!Core || Avatar.IsEmpty()) return false;
	Core->setEmotion(ToStd(Avatar), ToStd(Emotion));
	return true;
}

#undef LOCTEXT_NAMESPACE
