const KEY = "profgate-console-token";

/**
 * The signed-in token, kept in this tab's session storage only: never in local storage, a
 * cookie or a URL. It goes when the tab closes or on sign-out.
 */
export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  signIn: (token: string): void => sessionStorage.setItem(KEY, token),
  signOut: (): void => sessionStorage.removeItem(KEY),
};
