#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
import { launch } from "../dist/cli/launch.js";

process.exitCode = await launch(process.argv);
