// Every subcommand registers itself here; the CLI only composes them.
import type { Command } from "commander";
import { register as build } from "./build.js";
import { register as fetch } from "./fetch.js";
import { register as images } from "./images.js";
import { register as inspect } from "./inspect.js";
import { register as mirror } from "./mirror.js";
import { register as pin } from "./pin.js";
import { register as prune } from "./prune.js";
import { register as testImage } from "./test-image.js";
import { register as userData } from "./user-data.js";
import { register as verify } from "./verify.js";
import { register as vmconfig } from "./vmconfig.js";

export const COMMANDS: ReadonlyArray<(program: Command) => Command> = [
  fetch,
  verify,
  pin,
  mirror,
  vmconfig,
  userData,
  build,
  inspect,
  testImage,
  images,
  prune,
];
