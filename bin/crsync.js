#!/usr/bin/env node
require("../dist/bundle/crsync.js");
