#!/usr/bin/env node
// The installed command. It only loads the build: a file that exists before `build` runs,
// so installing the workspace can link it (pnpm warned "Failed to create bin" otherwise).
import '../dist/bin.js';
