// The "FaceBridge" entry of the Live Link panel's "+ Source" menu.
#pragma once

#include "CoreMinimal.h"
#include "LiveLinkSourceFactory.h"
#include "FaceBridgeLiveLinkSourceFactory.generated.h"

UCLASS()
class FACEBRIDGE_API UFaceBridgeLiveLinkSourceFactory : public ULiveLinkSourceFactory
{
	GENERATED_BODY()

public:
	virtual FText GetSourceDisplayName() const override;
	virtual FText GetSourceTooltip() const override;
	virtual EMenuType GetMenuType() const override { return EMenuType::MenuEntry; }
	/** ConnectionString: empty (defaults; edit the settings afterwards), or
	 *  "Control=tcp://host:5555;Data=tcp://host:5556;Image=C:/face.png;Subject=FaceBridge;Avatar=name;Follow=id". */
	virtual TSharedPtr<ILiveLinkSource> CreateSource(const FString& ConnectionString) const override;
};
