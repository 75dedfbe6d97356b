// Landlock ruleset construction (landlock(7)). Plain C++, no N-API.
#pragma once
namespace cordon {}
