#include "FaceBridgeLiveLinkLibrary.h"

#include "FaceBridgeLiveLinkSource.h"

bool UFaceBridgeLiveLinkLibrary::SpeakOnSubject(FName Subject, const FString& AudioFile, const FString& Text, const FString& Emotion)
{
	FFaceBridgeLiveLinkSource* Source = FFaceBridgeLiveLinkSource::FindBySubject(Subject);
	return Source && Source->SpeakFile(AudioFile, Text, Emotion);
}

bool UFaceBridgeLiveLinkLibrary::SpeakPcmOnSubject(FName Subject, const TArray<float>& Samples, int32 SampleRate, bool bFinal)
{
	FFaceBridgeLiveLinkSource* Source = FFaceBridgeLiveLinkSource::FindBySubject(Subject);
	return Source && Source->SpeakPcm(Samples, SampleRate, bFinal);
}

bool UFaceBridgeLiveLinkLibrary::SetEmotionOnSubject(FName Subject, const FString& Emotion)
{
	FFaceBridgeLiveLinkSource* Source = FFaceBridgeLiveLinkSource::FindBySubject(Subject);
	return Source && Source->SetEmotion(Emotion);
}

FString UFaceBridgeLiveLinkLibrary::GetSubjectAvatar(FName Subject)
{
	FFaceBridgeLiveLinkSource* Source = FFaceBridgeLiveLinkSource::FindBySubject(Subject);
	return Source ? Source->GetAvatar() : FString();
}
