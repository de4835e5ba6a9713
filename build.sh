#!/usr/bin/env bash
# Restores the local Cake tool and runs build.cake, e.g. ./build.sh --target=Test
set -euo pipefail
cd "$(dirname "$0")"
dotnet tool restore > /dev/null
exec dotnet cake build.cake "$@"
