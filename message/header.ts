// Header encoding and folding for the message layer. The code lives in core/header.ts because
// the core's composeMessage writes headers too and the core may not import from message/.
export {
  assertHeaderName,
  assertHeaderText as assertNoControls,
  encodeWords,
  encodeWordsOnly,
  foldHeader,
  unstructuredHeader,
  SOFT_LINE,
  HARD_LINE,
  type EncodeContext,
} from '../core/header.ts';
