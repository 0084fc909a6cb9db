#include "FaceBridgeLiveLinkSourceFactory.h"

#include "FaceBridgeLiveLinkSource.h"

#define LOCTEXT_NAMESPACE "FaceBridge"

FText UFaceBridgeLiveLinkSourceFactory::GetSourceDisplayName() const
{
	return LOCTEXT("SourceDisplayName", "FaceBridge");
}

FText UFaceBridgeLiveLinkSourceFactory::GetSourceTooltip() const
{
	return LOCTEXT("SourceTooltip", "Face motion from a facebridge daemon (facebridge serve): 52 ARKit curves and head rotation");
}

TSharedPtr<ILiveLinkSource> UFaceBridgeLiveLinkSourceFactory::CreateSource(const FString& ConnectionString) const
{
	return MakeShared<FFaceBridgeLiveLinkSource>(ConnectionString);
}

#undef LOCTEXT_NAMESPACE
