#!/usr/bin/env node
import '../dist/bundle/crsync.js';
