// FaceBridge: how to reach the daemon (shared by the Live Link source and the component).
#pragma once

#include "CoreMinimal.h"
#include "Engine/EngineTypes.h"
#include "FaceBridgeTypes.generated.h"

FACEBRIDGE_API DECLARE_LOG_CATEGORY_EXTERN(LogFaceBridge, Log, All);

USTRUCT(BlueprintType)
struct FACEBRIDGE_API FFaceBridgeConnection
{
	GENERATED_BODY()

	/** The daemon's control socket (`facebridge serve --control`). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge")
	FString Control = TEXT("tcp://127.0.0.1:5555");

	/** The daemon's data socket (motion frames). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge")
	FString Data = TEXT("tcp://127.0.0.1:5556");

	/** The video socket; empty: the port the daemon's welcome names, on the control host. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge")
	FString Video;

	/** CURVE (a daemon on the LAN with --curve-keys): the folder `facebridge keys --out` made,
	 *  holding server.key and clients/client.key_secret. Empty: no encryption. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|CURVE")
	FDirectoryPath CurveKeysFolder;

	/** Or the keys themselves, as Z85 text (40 characters); these win over the folder. */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|CURVE")
	FString ServerPublicKey;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|CURVE")
	FString ClientPublicKey;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "FaceBridge|CURVE")
	FString ClientSecretKey;
};
