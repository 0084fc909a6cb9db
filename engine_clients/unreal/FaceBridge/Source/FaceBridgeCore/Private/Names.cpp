#include "FaceBridgeCore/Names.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace facebridge {

const char* const kArkitNames[kBlendshapes] = {
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft",
    "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
};

const char* const kLiveLinkExtraNames[kLiveLinkExtra] = {
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
};

int arkitIndex(const std::string& name) {
    for (int i = 0; i < kBlendshapes; ++i)
        if (name == kArkitNames[i]) return i;
    return -1;
}

std::string liveLinkCurveName(int i) {
    if (i < 0 || i >= kLiveLinkCurves) return std::string();
    if (i >= kBlendshapes) return kLiveLinkExtraNames[i - kBlendshapes];
    std::string s = kArkitNames[i];
    s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
}

void liveLinkValues(const float* w, const float* headPose6, float* out) {
    for (int i = 0; i < kBlendshapes; ++i) out[i] = std::min(1.0f, std::max(0.0f, w[i]));
    // bridge/outputs/livelink.py: head (yaw, pitch, roll) then the eye angles, all deg / 180,
    // computed in float64 there and stored as float32.
    const double pitch = headPose6[0], yaw = headPose6[1], roll = headPose6[2];
    auto at = [&](const char* name) { return static_cast<double>(w[arkitIndex(name)]); };
    const double r = kEyeRangeDeg;
    const double leftYaw = (at("eyeLookOutLeft") - at("eyeLookInLeft")) * r;
    const double rightYaw = (at("eyeLookInRight") - at("eyeLookOutRight")) * r;
    const double leftPitch = (at("eyeLookUpLeft") - at("eyeLookDownLeft")) * r;
    const double rightPitch = (at("eyeLookUpRight") - at("eyeLookDownRight")) * r;
    const double extra[kLiveLinkExtra] = {yaw, pitch, roll, leftYaw, leftPitch, 0.0, rightYaw, rightPitch, 0.0};
    for (int i = 0; i < kLiveLinkExtra; ++i) out[kBlendshapes + i] = static_cast<float>(extra[i] / 180.0);
}

BlendshapeMap::BlendshapeMap() {
    toCanonical_.resize(kBlendshapes);
    for (int i = 0; i < kBlendshapes; ++i) toCanonical_[i] = i;
}

void BlendshapeMap::build(const std::vector<std::string>& schemaNames, std::vector<std::string>* unknown) {
    toCanonical_.assign(schemaNames.size(), -1);
    missing_.clear();
    std::vector<bool> have(kBlendshapes, false);
    identity_ = schemaNames.size() == size_t(kBlendshapes);
    for (size_t j = 0; j < schemaNames.size(); ++j) {
        const int c = arkitIndex(schemaNames[j]);
        if (c < 0 || have[size_t(c)]) {  // unknown, or a repeated name: ignored
            if (unknown) unknown->push_back(schemaNames[j]);
            identity_ = false;
            continue;
        }
        have[size_t(c)] = true;
        toCanonical_[j] = c;
        if (c != static_cast<int>(j)) identity_ = false;
    }
    for (int i = 0; i < kBlendshapes; ++i)
        if (!have[size_t(i)]) missing_.push_back(kArkitNames[i]);
}

void BlendshapeMap::apply(const float* wire, size_t count, float* out52) const {
    if (identity_ && count == size_t(kBlendshapes)) {
        if (wire != out52) std::memmove(out52, wire, sizeof(float) * kBlendshapes);
        return;
    }
    float tmp[kBlendshapes] = {0};
    const size_t n = std::min(count, toCanonical_.size());
    for (size_t j = 0; j < n; ++j)
        if (toCanonical_[j] >= 0) tmp[toCanonical_[j]] = wire[j];
    std::memcpy(out52, tmp, sizeof tmp);
}

}  // namespace facebridge
