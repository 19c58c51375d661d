export { mintToken, type TokenClaims } from "./token-mint.js";
export { loadNativeUws, type Uws } from "./uws-native.js";
