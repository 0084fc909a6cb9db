// facebridge Unreal client core: blendshape names.
//
// The daemon names its 52 weights in welcome.schema.blendshape_names; a client maps them BY
// NAME into its own order (here: ARKit's canonical order, kArkitNames). Names this client
// does not know are ignored (the Client logs them once); names it knows that the daemon does
// not send stay 0.
//
// Live Link: Unreal's ARKit support (and so a MetaHuman's face Animation Blueprint, through
// its mh_arkit_mapping_pose) names the curves as Apple's blend shape locations with a capital
// first letter (EyeBlinkLeft, JawOpen, ...) plus HeadYaw, HeadPitch, HeadRoll and the eye
// angles; angles are degrees / 180. liveLinkValues() computes exactly the 61 values the
// daemon's own Live Link Face output sends (bridge/outputs/livelink.py curve_values).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "FaceBridgeCore/Frames.h"

namespace facebridge {

// ARKit's 52 blend shapes, canonical order (lowerCamel, as on the wire).
extern const char* const kArkitNames[kBlendshapes];
// Index in kArkitNames, or -1.
int arkitIndex(const std::string& name);

constexpr int kLiveLinkExtra = 9;
constexpr int kLiveLinkCurves = kBlendshapes + kLiveLinkExtra;  // 61
// HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll.
extern const char* const kLiveLinkExtraNames[kLiveLinkExtra];
// The i-th Live Link curve name (0..60): EyeBlinkLeft ... TongueOut, HeadYaw ... RightEyeRoll.
std::string liveLinkCurveName(int i);
// How far the eyes turn at eyeLook* = 1, as in bridge/outputs/livelink.py.
constexpr float kEyeRangeDeg = 30.0f;
// 52 weights in canonical order + head pose (pitch, yaw, roll deg, ...) -> the 61 curve values:
// weights clamped to 0..1, then head yaw, pitch, roll and the eye angles in degrees / 180.
void liveLinkValues(const float* weights52, const float* headPose6, float* out61);

class BlendshapeMap {
public:
    // Identity (the daemon's names are the canonical ones).
    BlendshapeMap();
    // From welcome.schema.blendshape_names. `unknown` gets the names this client ignores.
    void build(const std::vector<std::string>& schemaNames, std::vector<std::string>* unknown = nullptr);
    // wire (count values, in schema order) -> out (52, canonical order).
    void apply(const float* wire, size_t count, float* out52) const;
    // Canonical names the daemon does not send (they stay 0).
    const std::vector<std::string>& missing() const { return missing_; }
    size_t wireCount() const { return toCanonical_.size(); }
    bool identity() const { return identity_; }

private:
    std::vector<int> toCanonical_;  // per wire index: canonical index or -1
    std::vector<std::string> missing_;
    bool identity_ = true;
};

}  // namespace facebridge
