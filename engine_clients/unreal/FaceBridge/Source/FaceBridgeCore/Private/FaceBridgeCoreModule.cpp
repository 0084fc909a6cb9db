// Unreal only (CMake does not build this file): the core as a module of its own.
#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, FaceBridgeCore)
